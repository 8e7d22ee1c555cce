/**
 * `roleStep`: one iteration of the role step (paper-notes §1.2 step 1) as a child workflow.
 * Iteration 0 is the initialisation (§1.1 steps 3-5): draw the graph particles and evaluate them.
 * Iteration t ≥ 1: PSO-advance every graph particle (with stray restarts), decode, evaluate all of them on dev
 * with the identity assignment, and update personal/global best and global worst.
 */
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { parseSearchConfig, maxTokensFor, type ModelSpec, type PsoSettings, type SearchConfig } from './core/config';
import type { DecodedGraph } from './core/dag';
import { FailureType } from './core/errors';
import { addUsage, EMPTY_USAGE, type EvaluationRequest, type EvaluationResult, type TaskRef } from './core/evaluation';
import { deriveRng } from './core/rng';
import { GraphSwarmSchema, type ModelVersion } from './core/state';
import { modelsAt } from './core/weight-swarm';
import { advanceSwarm, createGraphSwarm, initialPositions, initialVelocities, recordScores, type GraphSwarm, type SwarmSettings } from './core/swarm';
import { progressQuery } from './messages';
import { cheap } from './proxies';
import { evaluateServed } from './evaluate-served';

export interface RoleStepInput {
  config: SearchConfig;
  iteration: number;
  task: TaskRef;
  /** The swarm after the previous iteration; absent for iteration 0. */
  swarm?: GraphSwarm;
  /** The current adapter version of every model (weight step); the config's models when absent. */
  versions?: (ModelVersion | null)[];
}

export interface RoleStepResult {
  iteration: number;
  swarm: GraphSwarm;
  /** k*: the best particle of this iteration. */
  iterationBest: number;
  graphs: DecodedGraph[];
  evaluations: EvaluationResult[];
}

/** The graph swarm's PSO settings (`roleStep`). */
export function swarmSettings(config: SearchConfig): SwarmSettings {
  return psoSettings(config.roleStep, config.patience);
}

/** SwarmSettings from a PSO settings block of the config (shared by both swarms). */
export function psoSettings(r: PsoSettings, patience: number): SwarmSettings {
  return {
    coefficients: {
      inertia: r.inertia,
      cognitive: r.cognitive,
      social: r.social,
      repel: r.repel,
      repelEnabled: r.repelEnabled,
      weightRandomness: r.weightRandomness,
    },
    stepLength: r.stepLength,
    stepLengthFactor: r.stepLengthFactor,
    minimumStepLength: r.minimumStepLength,
    restartEnabled: r.restartEnabled,
    restartPatience: r.restartPatience,
    patience,
  };
}

/** The evaluation request of one system on one split (shared by the role step and the final test). */
export function evaluationRequest(
  config: SearchConfig,
  task: TaskRef,
  graph: DecodedGraph,
  assignment: number[],
  split: 'dev' | 'test',
  label: EvaluationRequest['label'],
  /** The pool with its current adapter versions (`modelsAt`); the config's models by default. */
  models: ModelSpec[] = config.models,
): EvaluationRequest {
  return {
    label,
    split,
    graph,
    assignment,
    models,
    task,
    generation: { maxTokens: maxTokensFor(config), temperature: config.generation.temperature, newlineToSpace: config.generation.newlineToSpace },
    concurrency: config.concurrency,
    maxUnparsableFraction: config.evaluation.maxUnparsableFraction,
    maxErrorFraction: config.evaluation.maxErrorFraction,
    requestTimeoutSeconds: config.evaluation.requestTimeoutSeconds,
  };
}

export async function roleStep(input: RoleStepInput): Promise<RoleStepResult> {
  const parsed = parseSearchConfig(input.config);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable('roleStep received an invalid config', FailureType.InvalidSearchConfig, parsed.problems);
  const config = parsed.config;
  const { iteration } = input;
  const particles = config.roleStep.particles;
  const n = config.models.length;

  let done = 0;
  let usage = EMPTY_USAGE;
  setHandler(progressQuery, () => ({ iteration, evaluationsDone: done, evaluationsTotal: particles, calls: usage.calls, cacheHits: usage.cacheHits }));

  let advanced: GraphSwarm | undefined;
  let velocities: number[][][] = [];
  let positions: number[][][];
  if (iteration === 0) {
    const rng = deriveRng(config.seed, 'init');
    positions = initialPositions(n, particles, rng);
    velocities = initialVelocities(positions, rng);
  } else {
    if (input.swarm === undefined) throw ApplicationFailure.nonRetryable(`roleStep ${iteration} needs the swarm of iteration ${iteration - 1}`, FailureType.InvalidSearchConfig);
    const swarm = GraphSwarmSchema.parse(input.swarm);
    advanced = advanceSwarm(swarm, swarmSettings(config), iteration, deriveRng(config.seed, 'role', iteration));
    positions = advanced.particles.map((p) => p.position);
  }

  const graphs = await cheap.decodeGraphs({ matrices: positions, topP: config.decode.topP, seed: config.seed, iteration });
  const identity = Array.from({ length: n }, (_, i) => i);
  const models = modelsAt(config.models, input.versions);
  const evaluations = await Promise.all(
    graphs.map(async (graph, particle) => {
      const result = await evaluateServed(
        config,
        input.versions,
        evaluationRequest(config, input.task, graph, identity, 'dev', { study: config.study, iteration, step: 'role', particle }, models),
      );
      done++;
      usage = addUsage(usage, result.usage);
      return result;
    }),
  );
  const scores = evaluations.map((e) => e.score);

  if (advanced === undefined) {
    const swarm = createGraphSwarm(positions, velocities, scores);
    const iterationBest = scores.indexOf(swarm.globalBestScore);
    return { iteration, swarm, iterationBest, graphs, evaluations };
  }
  const recorded = recordScores(advanced, scores);
  return { iteration, swarm: recorded.swarm, iterationBest: recorded.iterationBest, graphs, evaluations };
}
