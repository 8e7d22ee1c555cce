/**
 * `swarmSearch`: one Heterogeneous Swarms study (paper-notes §1), durable for days.
 *
 * Input: the study config (validated here; an invalid one fails with the non-retryable
 * `InvalidSearchConfig` naming every problem) and, after continue-as-new, the carried `SearchState`.
 * Each iteration is a `roleStep` child workflow; this workflow applies the stopping rules, keeps the
 * all-time best system, answers queries, and finally evaluates the best system on the test split.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { parseSearchConfig, type SearchConfig } from './core/config';
import { FailureType } from './core/errors';
import type { EvaluationResult, TaskRef } from './core/evaluation';
import { ORCHESTRATOR_TASK_QUEUE, roleStepWorkflowId, SEARCH_ATTRIBUTES } from './core/names';
import { EMPTY_COUNTERS, SearchStateSchema, STATE_VERSION, type BestSystem, type Counters, type SearchState } from './core/state';
import { patienceExhausted } from './core/swarm';
import { pauseSignal, resumeSignal, statusQuery, stopUpdate, type SearchPhase, type StatusView } from './messages';
import { cheap, modelActivities } from './proxies';
import { evaluationRequest, roleStep, type RoleStepResult } from './role-step.workflow';

export type StopReason = 'patience' | 'max-iterations' | 'stopped';

export interface SearchReport {
  study: string;
  stoppedBy: StopReason;
  /** Iterations completed after the initial evaluation. */
  iterations: number;
  best: {
    devScore: number;
    testScore: number;
    iteration: number;
    particle: number;
    /** Edges between model ids; the sink's output is the answer. */
    edges: [string, string][];
    order: string[];
    sink: string;
    /** slot → model id */
    assignment: string[];
    transcripts: { dev: string; test: string };
    test: Omit<EvaluationResult, 'transcriptKey' | 'usage'>;
  };
  summaries: SearchState['summaries'];
  counters: Counters;
  runs: number;
}

const studyKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.study.name, SearchAttributeType.KEYWORD);
const iterationKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.iteration.name, SearchAttributeType.INT);
const bestScoreKey = defineSearchAttributeKey(SEARCH_ATTRIBUTES.bestScore.name, SearchAttributeType.DOUBLE);

function countersAfter(counters: Counters, evaluations: readonly EvaluationResult[]): Counters {
  return evaluations.reduce<Counters>(
    (c, e) => ({
      calls: c.calls + e.usage.calls,
      cacheHits: c.cacheHits + e.usage.cacheHits,
      promptTokens: c.promptTokens + e.usage.promptTokens,
      completionTokens: c.completionTokens + e.usage.completionTokens,
      evaluations: c.evaluations + 1,
      unparsable: c.unparsable + e.unparsable,
      errors: c.errors + e.errors,
    }),
    counters,
  );
}

/** Role step 1c (`search.py` L578-596): the iteration's best graph becomes the all-time best if strictly better. */
function bestAfter(best: BestSystem | undefined, step: RoleStepResult): BestSystem {
  const k = step.iterationBest;
  const evaluation = step.evaluations[k]!;
  if (best !== undefined && !(evaluation.score > best.devScore)) return best;
  const n = step.graphs[k]!.n;
  return {
    devScore: evaluation.score,
    iteration: step.iteration,
    particle: k,
    graph: step.graphs[k]!,
    assignment: Array.from({ length: n }, (_, i) => i),
    matrix: step.swarm.particles[k]!.position,
    transcriptKey: evaluation.transcriptKey,
  };
}

function summaryOf(step: RoleStepResult): SearchState['summaries'][number] {
  const scores = step.evaluations.map((e) => e.score);
  return {
    iteration: step.iteration,
    bestScore: Math.max(...scores),
    meanScore: scores.reduce((a, b) => a + b, 0) / scores.length,
    globalBestScore: step.swarm.globalBestScore,
  };
}

function invalid(message: string, problems: unknown): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.InvalidSearchConfig, problems);
}

export async function swarmSearch(configInput: unknown, carried?: unknown): Promise<SearchReport> {
  const parsed = parseSearchConfig(configInput);
  if (!parsed.ok) {
    const lines = parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw invalid(`Invalid search config: ${lines}`, parsed.problems);
  }
  const config: SearchConfig = parsed.config;
  const modelId = (slot: number): string => config.models[slot]?.id ?? `#${slot}`;

  let state: SearchState | undefined;
  if (carried !== undefined) {
    const result = SearchStateSchema.safeParse(carried);
    if (!result.success) throw invalid(`Invalid carried SearchState (expected version ${STATE_VERSION})`, result.error.issues);
    state = result.data;
  }
  let paused = state?.paused ?? false;
  let stopRequested = state?.stopRequested ?? false;
  let phase: SearchPhase = state === undefined ? 'initialising' : 'role-step';
  let currentStep: string | null = null;
  let testScore: number | null = null;

  setHandler(statusQuery, (): StatusView => {
    const best = state?.best;
    return {
      study: config.study,
      phase: paused && phase === 'role-step' ? 'paused' : phase,
      iteration: state?.iteration ?? 0,
      maxIterations: config.maxIterations,
      bestDevScore: best?.devScore ?? null,
      bestTestScore: testScore,
      bestGraph: best
        ? {
            edges: best.graph.edges.map(([from, to]): [string, string] => [modelId(best.assignment[from]!), modelId(best.assignment[to]!)]),
            order: best.graph.order.map((slot) => modelId(best.assignment[slot]!)),
            sink: modelId(best.assignment[best.graph.sink]!),
          }
        : null,
      counters: state?.counters ?? EMPTY_COUNTERS,
      paused,
      stopRequested,
      runs: state?.runs ?? 0,
      currentStep,
    };
  });
  setHandler(pauseSignal, () => {
    paused = true;
  });
  setHandler(resumeSignal, () => {
    paused = false;
  });
  setHandler(stopUpdate, () => {
    stopRequested = true;
    return { stopAfterIteration: (state?.iteration ?? 0) + (currentStep === null ? 0 : 1) };
  });

  upsertSearchAttributes([{ key: studyKey, value: config.study }]);

  /** One iteration child; iteration 0 (no previous state) is the initialisation. */
  const runStep = async (iteration: number, task: TaskRef, previous?: SearchState): Promise<RoleStepResult> => {
    const workflowId = roleStepWorkflowId(config.study, iteration);
    currentStep = workflowId;
    try {
      return await executeChild(roleStep, {
        workflowId,
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        args: [{ config, iteration, task, ...(previous ? { swarm: previous.swarm } : {}) }],
      });
    } finally {
      currentStep = null;
    }
  };

  if (state === undefined) {
    const fingerprint = await cheap.loadTask(config.task);
    const step = await runStep(0, { spec: config.task, sha256: fingerprint.sha256 });
    state = {
      version: STATE_VERSION,
      iteration: 0,
      task: fingerprint,
      swarm: step.swarm,
      best: bestAfter(undefined, step),
      summaries: [summaryOf(step)],
      counters: countersAfter(EMPTY_COUNTERS, step.evaluations),
      paused,
      stopRequested,
      runs: 0,
    };
    upsertSearchAttributes([
      { key: iterationKey, value: 0 },
      { key: bestScoreKey, value: state.best.devScore },
    ]);
  }
  phase = 'role-step';

  let iterationsThisRun = 0;
  let stoppedBy: StopReason;
  for (;;) {
    if (stopRequested) {
      stoppedBy = 'stopped';
      break;
    }
    if (state.iteration >= config.maxIterations) {
      stoppedBy = 'max-iterations';
      break;
    }
    if (patienceExhausted(state.swarm.globalBestHistory, config.patience)) {
      stoppedBy = 'patience';
      break;
    }
    if (paused) {
      await condition(() => !paused || stopRequested);
      continue;
    }
    if (iterationsThisRun >= config.continueAsNewEvery || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      const next: SearchState = { ...state, paused, stopRequested, runs: state.runs + 1 };
      return await continueAsNew<typeof swarmSearch>(configInput, next);
    }
    const step = await runStep(state.iteration + 1, { spec: config.task, sha256: state.task.sha256 }, state);
    state = {
      ...state,
      iteration: step.iteration,
      swarm: step.swarm,
      best: bestAfter(state.best, step),
      summaries: [...state.summaries, summaryOf(step)],
      counters: countersAfter(state.counters, step.evaluations),
    };
    iterationsThisRun++;
    upsertSearchAttributes([
      { key: iterationKey, value: state.iteration },
      { key: bestScoreKey, value: state.best.devScore },
    ]);
  }

  phase = 'final-test';
  const best = state.best;
  const { evaluateSystem } = modelActivities(config.evaluation.heartbeatTimeoutSeconds);
  const test = await evaluateSystem(
    evaluationRequest(config, { spec: config.task, sha256: state.task.sha256 }, best.graph, best.assignment, 'test', {
      study: config.study,
      iteration: state.iteration,
      step: 'final',
      particle: best.particle,
    }),
  );
  testScore = test.score;
  state = { ...state, counters: countersAfter(state.counters, [test]) };
  phase = 'done';
  await condition(allHandlersFinished);
  const { transcriptKey, usage: _usage, ...testCounts } = test;
  return {
    study: config.study,
    stoppedBy,
    iterations: state.iteration,
    best: {
      devScore: best.devScore,
      testScore: test.score,
      iteration: best.iteration,
      particle: best.particle,
      edges: best.graph.edges.map(([from, to]): [string, string] => [modelId(best.assignment[from]!), modelId(best.assignment[to]!)]),
      order: best.graph.order.map((slot) => modelId(best.assignment[slot]!)),
      sink: modelId(best.assignment[best.graph.sink]!),
      assignment: best.assignment.map(modelId),
      transcripts: { dev: best.transcriptKey, test: transcriptKey },
      test: testCounts,
    },
    summaries: state.summaries,
    counters: state.counters,
    runs: state.runs,
  };
}
