/**
 * Live control of a running study: the `configure` update's patch, its validation and its application.
 * A patch changes the settings used from the next iteration on — PSO coefficients of either swarm, JFK
 * assignments, patience, max iterations, endpoint concurrency — and never what fixes the study's identity
 * (models, task, particles, seed), which would make its iterations incomparable. The patched config must
 * still satisfy every rule of the config schema; a bad patch is rejected before it reaches the history.
 */
import { z } from 'zod';
import { budgetBounds, type Budget } from './budget';
import { formatPath, parseSearchConfig, psoBounds, type ConfigProblem, type PsoSettings, type SearchConfig } from './config';

const PsoPatchSchema = z.strictObject(psoBounds).partial();

export const SettingsPatchSchema = z
  .strictObject({
    /** The role step's (graph swarm's) PSO coefficients. */
    roleStep: PsoPatchSchema.optional(),
    weightStep: z
      .strictObject({
        /** M: JFK assignments per weight step. */
        assignments: z.int().min(1).max(1000),
        /** The model swarm's PSO coefficients (starting from the role step's when the config had none). */
        pso: PsoPatchSchema,
      })
      .partial()
      .optional(),
    maxIterations: z.int().min(0).max(100_000).optional(),
    patience: z.int().min(1).max(100_000).optional(),
    /** Max concurrent requests per endpoint (models without their own `concurrency`). */
    concurrency: z.int().min(1).max(256).optional(),
    /** Budget limits to set (a paused, exhausted study resumes once every limit has room again). */
    budget: z.strictObject(budgetBounds).partial().optional(),
  })
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), { message: 'empty patch: name at least one setting to change' });
export type SettingsPatch = z.input<typeof SettingsPatchSchema>;

/** The settings a patch can change, as they are now. */
export interface LiveSettings {
  roleStep: PsoSettings;
  weightStep: { assignments: number; pso: PsoSettings | null };
  maxIterations: number;
  patience: number;
  concurrency: number;
  budget: Budget;
}

export function liveSettings(config: SearchConfig): LiveSettings {
  const { particles: _particles, ...rolePso } = config.roleStep;
  return {
    roleStep: rolePso,
    weightStep: { assignments: config.weightStep.assignments, pso: config.weightStep.pso ?? null },
    maxIterations: config.maxIterations,
    patience: config.patience,
    concurrency: config.concurrency,
    budget: config.budget,
  };
}

export type PatchOutcome = { ok: true; config: SearchConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * `config` with `input` applied, validated as a whole. `iteration` is the last finished iteration: max
 * iterations may not go below it (use `stop` to end now).
 */
export function applySettingsPatch(config: SearchConfig, input: unknown, iteration: number): PatchOutcome {
  const parsed = SettingsPatchSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
  const patch = parsed.data;
  if (patch.maxIterations !== undefined && patch.maxIterations < iteration) {
    return { ok: false, problems: [{ path: 'maxIterations', message: `iteration ${iteration} is already done: maxIterations must be ≥ ${iteration} (use stop to end the study now)` }] };
  }
  const { particles, ...rolePso } = config.roleStep;
  const weightPso = patch.weightStep?.pso === undefined ? config.weightStep.pso : { ...(config.weightStep.pso ?? rolePso), ...patch.weightStep.pso };
  const merged: SearchConfig = {
    ...config,
    roleStep: { particles, ...rolePso, ...patch.roleStep },
    weightStep: { ...config.weightStep, ...(patch.weightStep?.assignments === undefined ? {} : { assignments: patch.weightStep.assignments }), ...(weightPso === undefined ? {} : { pso: weightPso }) },
    maxIterations: patch.maxIterations ?? config.maxIterations,
    patience: patch.patience ?? config.patience,
    concurrency: patch.concurrency ?? config.concurrency,
    budget: { ...config.budget, ...patch.budget },
  };
  const checked = parseSearchConfig(merged);
  return checked.ok ? { ok: true, config: checked.config } : { ok: false, problems: checked.problems };
}
