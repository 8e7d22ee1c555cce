/**
 * `hs configure <study> --set PATH=VALUE…` (the `configure` update), `hs seed <study> --edges a>b,b>c` or
 * `--model ID --adapter PATH` (the `seed` update) and `hs particles <study>` (the `particles` query): live
 * control of a running study.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { readEnv } from '../../workers/env';
import { SettingsPatchSchema } from '../../workflows/core/control';
import { formatPath } from '../../workflows/core/config';
import { studyWorkflowId } from '../../workflows/core/names';
import { configureUpdate, particlesQuery, seedUpdate, type ParticlesView, type SeedRequest, type SeedResult, type SettingsPatch } from '../../workflows/messages';
import { withClient } from '../client';

/** A value as typed: JSON when it parses (numbers, booleans, objects), else the string itself. */
function valueOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `["roleStep.inertia=0.3", "patience=10"]` → `{ roleStep: { inertia: 0.3 }, patience: 10 }`, or the first malformed one. */
export function patchFromAssignments(assignments: readonly string[]): { ok: true; patch: Record<string, unknown> } | { ok: false; message: string } {
  const patch: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    const keys = eq > 0 ? assignment.slice(0, eq).split('.') : [];
    if (keys.length === 0 || keys.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) {
      return { ok: false, message: `"${assignment}": expected PATH=VALUE, e.g. roleStep.inertia=0.3` };
    }
    let node = patch;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (next !== undefined && (typeof next !== 'object' || next === null)) return { ok: false, message: `"${assignment}": ${key} is already set to a value` };
      node = (next as Record<string, unknown> | undefined) ?? (node[key] = {});
    }
    node[keys[keys.length - 1]!] = valueOf(assignment.slice(eq + 1));
  }
  return { ok: true, patch };
}

const round = (x: number): string => x.toFixed(3);

/** `particles` as text: one line per graph particle, then one per model particle. */
export function particlesText(view: ParticlesView): string {
  if (view.graph === null) return 'no particles yet (the initial evaluation has not finished)';
  const lines = [`iteration ${view.iteration ?? 0}; graph swarm g ${round(view.graph.globalBestScore)}, g_w ${round(view.graph.globalWorstScore)}`];
  for (const p of view.graph.particles) {
    lines.push(
      `  graph ${p.particle}: x mean ${round(p.position.mean)} [${round(p.position.min)}, ${round(p.position.max)}]  ‖v‖ ${round(p.velocityNorm)}  ‖x−p‖ ${round(p.distanceToPersonalBest)}  ` +
        `p ${round(p.personalBestScore)}  history ${p.history.map(round).join(' ')}${p.restartCooldown > 0 ? `  (restart cool-down ${p.restartCooldown})` : ''}`,
    );
  }
  for (const m of view.models ?? []) {
    lines.push(`  model ${m.model} (${m.base}): p ${round(m.personalBestScore)}  JFK history ${m.history.map(round).join(' ')}  x ${m.position.slice(0, 19)}…  p ${m.personalBest.slice(0, 19)}…`);
  }
  return lines.join('\n');
}

/** `"a>b,b>c"` → `[["a","b"],["b","c"]]`; undefined when malformed. */
export function edgesFromText(text: string): [string, string][] | undefined {
  const edges = text.split(',').map((e) => e.trim().split('>').map((id) => id.trim()));
  return edges.every((e) => e.length === 2 && e[0] !== '' && e[1] !== '') ? (edges as [string, string][]) : undefined;
}

const USAGE = {
  configure: 'usage: hs configure <study> --set PATH=VALUE [--set …] | --patch JSON',
  seed: 'usage: hs seed <study> --edges FROM>TO[,FROM>TO…] | --matrix JSON [--particle K]\n       hs seed <study> --model ID --adapter PATH [--adapter-sha256 HEX]   (a relative PATH is taken from the current directory)',
  particles: 'usage: hs particles <study> [--json]',
} as const;

/** Runs an update, printing the workflow validator's rejection (exit 2) instead of a stack. */
async function updateOrRejection<T>(run: () => Promise<T>, print: (result: T) => void): Promise<number> {
  try {
    print(await run());
    return 0;
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof Error) {
      console.error(error.cause.message);
      return 2;
    }
    throw error;
  }
}

interface SeedOptions {
  edges?: string;
  matrix?: string;
  particle?: string;
  model?: string;
  adapter?: string;
  'adapter-sha256'?: string;
}

/**
 * The `seed` request of the options, or undefined when they do not make one (usage). The weights worker reads
 * an adapter path against its data root: a relative `--adapter` is made absolute from the current directory.
 */
export function seedRequestOf(values: SeedOptions, cwd: string = process.cwd()): SeedRequest | undefined {
  const kinds = [values.edges, values.matrix, values.adapter].filter((v) => v !== undefined).length;
  if (kinds !== 1 || (values.adapter === undefined) !== (values.model === undefined)) return undefined;
  if (values.adapter !== undefined) {
    if (values.particle !== undefined) return undefined;
    return { model: values.model, adapter: path.resolve(cwd, values.adapter), ...(values['adapter-sha256'] === undefined ? {} : { adapterSha256: values['adapter-sha256'] }) };
  }
  if (values['adapter-sha256'] !== undefined) return undefined;
  const edges = values.edges === undefined ? undefined : edgesFromText(values.edges);
  if (values.edges !== undefined && edges === undefined) return undefined;
  return {
    ...(edges === undefined ? { matrix: valueOf(values.matrix ?? '') as number[][] } : { edges }),
    ...(values.particle === undefined ? {} : { particle: Number(values.particle) }),
  };
}

/** One line: what the seed replaces, from which iteration on. */
export function seedResultText(study: string, r: SeedResult): string {
  if (r.kind === 'graph') return `"${study}": the seed replaces graph particle ${r.particle} from iteration ${r.appliesFromIteration} on`;
  return `"${study}": model ${r.model}'s particle takes the seeded adapter, served as ${r.served} (sha256 ${r.sha256}), from iteration ${r.appliesFromIteration} on`;
}

async function seed(study: string, values: SeedOptions): Promise<number> {
  const request = seedRequestOf(values);
  if (request === undefined) {
    console.error(USAGE.seed);
    return 2;
  }
  return await withClient(readEnv(), (client) =>
    updateOrRejection(
      () => client.workflow.getHandle(studyWorkflowId(study)).executeUpdate(seedUpdate, { args: [request] }),
      (r) => console.log(seedResultText(study, r)),
    ),
  );
}

export async function controlCommand(command: 'configure' | 'particles' | 'seed', argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      set: { type: 'string', multiple: true, default: [] },
      patch: { type: 'string' },
      json: { type: 'boolean', default: false },
      edges: { type: 'string' },
      matrix: { type: 'string' },
      particle: { type: 'string' },
      model: { type: 'string' },
      adapter: { type: 'string' },
      'adapter-sha256': { type: 'string' },
    },
  });
  const study = positionals[0];
  if (study === undefined) {
    console.error(USAGE[command]);
    return 2;
  }
  if (command === 'seed') return await seed(study, values);
  if (command === 'particles') {
    return await withClient(readEnv(), async (client) => {
      const view = await client.workflow.getHandle(studyWorkflowId(study)).query(particlesQuery);
      console.log(values.json ? JSON.stringify(view, null, 2) : particlesText(view));
      return 0;
    });
  }
  const built = values.patch === undefined ? patchFromAssignments(values.set) : { ok: true as const, patch: valueOf(values.patch) as Record<string, unknown> };
  if (!built.ok) {
    console.error(`hs configure: ${built.message}`);
    return 2;
  }
  const checked = SettingsPatchSchema.safeParse(built.patch);
  if (!checked.success) {
    for (const issue of checked.error.issues) console.error(`  ${formatPath(issue.path)}: ${issue.message}`);
    return 2;
  }
  return await withClient(readEnv(), (client) =>
    updateOrRejection(
      () => client.workflow.getHandle(studyWorkflowId(study)).executeUpdate(configureUpdate, { args: [built.patch as SettingsPatch] }),
      (result) => {
        console.log(`"${study}": new settings from iteration ${result.appliesFromIteration} on`);
        console.log(JSON.stringify(result.settings, null, 2));
      },
    ),
  );
}
