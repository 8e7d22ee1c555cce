/**
 * `weightStep`: one iteration of the weight step (paper-notes §1.2 step 2) as a child workflow.
 * Iteration 0 is the initialisation (§1.1 steps 2 and 6): starting velocities v_i = x_j − x_i and the first
 * JFK-scores. Iteration t ≥ 1: PSO-move every model particle's adapter (restarts included) on `hs-weights`,
 * publish the new versions to their endpoints, JFK-score them on this iteration's best graph (§6, §10.6), and
 * update personal/global best and global worst per weight swarm.
 */
import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import { parseSearchConfig, type ModelSpec, type SearchConfig } from './core/config';
import type { DecodedGraph } from './core/dag';
import { FailureType } from './core/errors';
import { addUsage, EMPTY_USAGE, type EvaluationResult, type TaskRef } from './core/evaluation';
import { drawAssignments, jfkScores, scoresForSwarm } from './core/jfk';
import { deriveRng } from './core/rng';
import { WeightStateSchema, type ModelVersion, type WeightState } from './core/state';
import type { SwarmSettings } from './core/swarm';
import { applyWeightUpdates, createWeightSwarm, modelsAt, planWeightUpdates, recordWeightScores, velocityPartners, weightGroups, type WeightSwarm } from './core/weight-swarm';
import { progressQuery } from './messages';
import { evaluateServed } from './evaluate-served';
import { weightActivities } from './proxies';
import { evaluationRequest, psoSettings } from './role-step.workflow';

export interface WeightStepInput {
  config: SearchConfig;
  iteration: number;
  task: TaskRef;
  /** This iteration's best graph (k*), on which the JFK-scores are measured. */
  graph: DecodedGraph;
  /** The weight state after the previous iteration; at iteration 0, `swarms` is empty and `versions` holds
   * the imported initial adapters. */
  weights: WeightState;
}

export interface WeightStepResult {
  iteration: number;
  weights: WeightState;
  /** The M assignments (slot → model index) and their system evaluations on dev. */
  assignments: number[][];
  evaluations: EvaluationResult[];
  /** JFK_i of this step (`null`: model not drawn). */
  jfk: (number | null)[];
  bestTrial: number;
}

/** The weight swarm's PSO settings: `weightStep.pso` if given, else the role step's (as the official code). */
export function weightSwarmSettings(config: SearchConfig): SwarmSettings {
  return psoSettings(config.weightStep.pso ?? config.roleStep, config.patience);
}

function formatOf(config: SearchConfig, model: number): NonNullable<ModelSpec['adapter']>['format'] {
  const adapter = config.models[model]?.adapter;
  if (adapter === undefined) throw ApplicationFailure.nonRetryable(`model #${model} has no adapter`, FailureType.InvalidSearchConfig);
  return adapter.format;
}

export async function weightStep(input: WeightStepInput): Promise<WeightStepResult> {
  const parsed = parseSearchConfig(input.config);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable('weightStep received an invalid config', FailureType.InvalidSearchConfig, parsed.problems);
  const config = parsed.config;
  const { iteration, graph } = input;
  const parsedState = WeightStateSchema.safeParse(input.weights);
  if (!parsedState.success) throw ApplicationFailure.nonRetryable(`weightStep ${input.iteration} received an invalid weight state`, FailureType.InvalidSearchConfig, parsedState.error.issues);
  const state = parsedState.data;
  const trials = config.weightStep.assignments;
  const n = config.models.length;
  const act = weightActivities(config.evaluation.heartbeatTimeoutSeconds);

  let done = 0;
  let usage = EMPTY_USAGE;
  setHandler(progressQuery, () => ({ iteration, evaluationsDone: done, evaluationsTotal: trials, calls: usage.calls, cacheHits: usage.cacheHits }));

  const versions: (ModelVersion | null)[] = state.versions.slice();
  const versionOf = (model: number): ModelVersion => {
    const v = versions[model];
    if (!v) throw ApplicationFailure.nonRetryable(`model #${model} has no adapter version`, FailureType.InvalidSearchConfig);
    return v;
  };

  // 2a: move the particles (iteration ≥ 1) or draw the starting velocities (iteration 0).
  let swarms: WeightSwarm[];
  let velocitiesAtInit: Map<number, string> | undefined;
  if (iteration === 0) {
    const rng = deriveRng(config.seed, 'weight-init');
    const started = new Map<number, string>();
    velocitiesAtInit = started;
    const jobs = weightGroups(config.models).flatMap((group) => {
      const partners = velocityPartners(group.models, rng);
      return group.models.map(async (model, i) => {
        const partner = partners[i];
        const { velocity } = await act.initialVelocity({
          format: formatOf(config, model),
          position: versionOf(model).key,
          partner: partner === null || partner === undefined ? null : versionOf(partner).key,
        });
        started.set(model, velocity);
      });
    });
    await Promise.all(jobs);
    swarms = [];
  } else {
    const settings = weightSwarmSettings(config);
    const rng = deriveRng(config.seed, 'weight', iteration);
    const plans = state.swarms.map((swarm) => planWeightUpdates(swarm, settings, iteration, rng));
    const moved = await Promise.all(
      plans.map((groupPlans) => Promise.all(groupPlans.map((plan) => act.updateAdapter({ format: formatOf(config, plan.model), plan })))),
    );
    swarms = state.swarms.map((swarm, g) => applyWeightUpdates(swarm, plans[g]!, moved[g]!));
    // Publish every moved adapter under a new name (`<id>@<sha12>`).
    await Promise.all(
      moved.flatMap((groupMoved, g) =>
        groupMoved.map(async (m, i) => {
          const model = plans[g]![i]!.model;
          const previous = versionOf(model);
          const version = { sha256: m.sha256, key: m.position, ...(previous.configKey === undefined ? {} : { configKey: previous.configKey }) };
          const { served } = await act.publishAdapter({ model: config.models[model]!, version });
          versions[model] = { ...version, served, iteration };
        }),
      ),
    );
  }

  // 2b: JFK-scores on this iteration's best graph.
  const assignments = drawAssignments(deriveRng(config.seed, 'jfk', iteration), trials, graph.n, n);
  const models = modelsAt(config.models, versions);
  const evaluations = await Promise.all(
    assignments.map(async (assignment, trial) => {
      const result = await evaluateServed(
        config,
        versions,
        evaluationRequest(config, input.task, graph, assignment, 'dev', { study: config.study, iteration, step: 'weight', particle: trial }, models),
      );
      done++;
      usage = addUsage(usage, result.usage);
      return result;
    }),
  );
  const systemScores = evaluations.map((e) => e.score);
  const outcome = jfkScores(assignments, systemScores, n);
  const previousJfk = Array.from({ length: n }, (_, i) => state.jfk[i]);
  const scores = scoresForSwarm(outcome, previousJfk, systemScores);

  // 2d: personal / global best and global worst of every weight swarm.
  if (velocitiesAtInit !== undefined) {
    const velocities = velocitiesAtInit;
    swarms = weightGroups(config.models).map((group) =>
      createWeightSwarm(
        group.base,
        group.models,
        group.models.map((m) => versionOf(m).key),
        group.models.map((m) => velocities.get(m) ?? ''),
        scores,
      ),
    );
  } else {
    swarms = swarms.map((swarm) => recordWeightScores(swarm, scores));
  }

  // Versions this step replaced are no longer served. Best effort: unloading only frees endpoint memory, so a
  // failure is logged, never fatal (a version needed again is re-published: final test, 404 after a restart).
  const retired = state.versions.flatMap((old, model) => (old && old.served !== versions[model]?.served ? [{ model, served: old.served }] : []));
  await Promise.all(
    retired.map(async ({ model, served }) => {
      try {
        await act.unloadAdapters({ model: config.models[model]!, names: [served] });
      } catch (error) {
        log.warn('could not unload a retired adapter version', { model: config.models[model]!.id, served, error: error instanceof Error ? error.message : String(error) });
      }
    }),
  );

  return { iteration, weights: { swarms, versions, jfk: scores }, assignments, evaluations, jfk: outcome.scores, bestTrial: outcome.bestTrial };
}
