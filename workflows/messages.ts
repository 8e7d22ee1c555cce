/**
 * Queries, signals and updates of the workflows. Their names are durable API (see core/names.ts).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Baselines } from './core/baselines';
import type { Budget, Spent } from './core/budget';
import type { LiveSettings, SettingsPatch } from './core/control';
import type { ParticlesView } from './core/particles';
import type { SeedRequest } from './core/seed';
import type { Counters } from './core/state';
import type { StudyView } from './search.workflow';

export type { LiveSettings, ParticlesView, SeedRequest, SettingsPatch };

export type SearchPhase = 'initialising' | 'baselines' | 'role-step' | 'weight-step' | 'paused' | 'final-test' | 'done';

export interface StatusView {
  study: string;
  phase: SearchPhase;
  /** Iterations completed (0 = initial evaluation). */
  iteration: number;
  maxIterations: number;
  bestDevScore: number | null;
  bestTestScore: number | null;
  /** The best system: its DAG as edges between model ids, in topological order. */
  bestGraph: { edges: [string, string][]; order: string[]; sink: string } | null;
  counters: Counters;
  /** Weight step: every model's latest JFK-score and current adapter version (null: no weight step). */
  models: ModelStatus[] | null;
  paused: boolean;
  stopRequested: boolean;
  /** Continue-as-new hand-overs so far. */
  runs: number;
  /** Workflow id of the running iteration child, if any (query it with `progress`). */
  currentStep: string | null;
  /** The settings the next iteration will use (changed with the `configure` update). */
  settings: LiveSettings;
  /** Limits (of the next iteration), what the study has spent, and the limit that paused it (null: none). */
  budget: { limits: Budget; spent: Spent; exhausted: string | null };
  /** The baselines run before the search (null until they finish, or when none ran). */
  baselines: Baselines | null;
  /** When the study started (ms since the epoch, across continue-as-new). */
  startedAt: number;
}

export interface ModelStatus {
  id: string;
  /** Latest JFK-score (null before the first weight step). */
  jfk: number | null;
  /** The model name requested now (`<id>@<sha12>` for adapter versions made by the weight step). */
  served: string;
  /** sha256 of the current adapter weights, and the iteration that made them (0 = initial). */
  adapterSha256: string | null;
  adapterIteration: number | null;
  /** The current version was injected by a `seed` update (and has not moved since); absent otherwise. */
  seeded?: true;
}

export interface StepProgress {
  iteration: number;
  evaluationsDone: number;
  evaluationsTotal: number;
  calls: number;
  cacheHits: number;
}

export const statusQuery = defineQuery<StatusView>('status');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Finish after the current iteration, then evaluate the best system on test and report. */
export const stopUpdate = defineUpdate<{ stopAfterIteration: number }>('stop');
/** What `configure` answers: the settings now in force for iterations from `appliesFromIteration` on. */
export interface ConfigureResult {
  appliesFromIteration: number;
  settings: LiveSettings;
}

/**
 * Changes PSO coefficients, JFK assignments, patience, max iterations or concurrency from the next iteration
 * on. Validated: a bad patch is rejected (`InvalidUpdate`, naming each field) and never enters the history.
 */
export const configureUpdate = defineUpdate<ConfigureResult, [SettingsPatch]>('configure');
/**
 * What `seed` answers, from which iteration on the seed is in the swarm: for a graph, the graph particle it
 * replaces; for an adapter, the model whose particle takes it and the version's served name and sha256.
 */
export type SeedResult =
  | { kind: 'graph'; particle: number; appliesFromIteration: number }
  | { kind: 'adapter'; model: string; served: string; sha256: string; appliesFromIteration: number };

/**
 * Injects a graph (an adjacency matrix, or edges between model ids) as a graph particle's position, or a LoRA
 * adapter as a model particle's position and the model's current version, at the next iteration (velocity 0).
 * Validated like `configure`; an adapter is then imported (its tensor layout checked against the particle's),
 * given a zero velocity and published on `hs-weights` before the update answers — a file that fails there
 * fails the update with the activity's failure type (e.g. `AdapterError.Invalid`).
 */
export const seedUpdate = defineUpdate<SeedResult, [SeedRequest]>('seed');
/**
 * The study so far, shaped like its final report without the test evaluation (`StudyView`); null until the
 * initialisation is done. `hs report` draws a running study from it.
 */
export const reportQuery = defineQuery<StudyView | null>('report');
/** Every particle of both swarms: position summary, personal best, history. */
export const particlesQuery = defineQuery<ParticlesView>('particles');
/** Progress of one iteration child. */
export const progressQuery = defineQuery<StepProgress>('progress');
