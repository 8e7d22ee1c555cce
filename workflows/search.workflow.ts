/**
 * `swarmSearch`: one Heterogeneous Swarms study (paper-notes §1), durable for days.
 *
 * Input: the study config (validated here; an invalid one fails with the non-retryable
 * `InvalidSearchConfig` naming every problem) and, after continue-as-new, the carried `SearchState`.
 * Each iteration is a `roleStep` child workflow followed, when some model has a LoRA adapter, by a
 * `weightStep` child (§1.2); this workflow applies the stopping rules (graph side only, as the paper), keeps
 * the all-time best system (graph, model versions, assignment), answers queries, and finally evaluates the
 * best system on the test split.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  allHandlersFinished,
  isCancellation,
  condition,
  continueAsNew,
  executeChild,
  log,
  metricMeter,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { parseSearchConfig, weightStepActive, type ModelSpec, type SearchConfig } from './core/config';
import { FailureType } from './core/errors';
import type { EvaluationResult, TaskRef } from './core/evaluation';
import { baselinesWorkflowId, ORCHESTRATOR_TASK_QUEUE, roleStepWorkflowId, SEARCH_ATTRIBUTES, weightStepWorkflowId } from './core/names';
import { EMPTY_COUNTERS, SearchStateSchema, STATE_VERSION, type BestSystem, type Counters, type ModelVersion, type SearchState, type WeightState } from './core/state';
import { payloadProblem } from './core/payload';
import { patienceExhausted } from './core/swarm';
import { modelsAt, particleOfModel } from './core/weight-swarm';
import { exhaustedLimit, type Spent } from './core/budget';
import { applySettingsPatch, liveSettings } from './core/control';
import { particlesView } from './core/particles';
import { injectAdapterSeeds, injectSeeds, parseSeed, type AdapterSeed, type AdapterSeedRequest, type GraphSeed } from './core/seed';
import {
  configureUpdate,
  particlesQuery,
  pauseSignal,
  reportQuery,
  seedUpdate,
  resumeSignal,
  statusQuery,
  stopUpdate,
  type ConfigureResult,
  type SeedResult,
  type ModelStatus,
  type SearchPhase,
  type StatusView,
} from './messages';
import { evaluateServed, republishVersions } from './evaluate-served';
import { cheap, weightActivities } from './proxies';
import { baselines as baselinesWorkflow, type BaselinesResult } from './baselines.workflow';
import type { Baselines } from './core/baselines';
import { evaluationRequest, roleStep, type RoleStepResult } from './role-step.workflow';
import { weightStep, type WeightStepResult } from './weight-step.workflow';

/** `patched()` id of the baselines child before iteration 0. */
const BASELINES_PATCH = 'hs-baselines';
/** Attempts of a seed's activities (1 s, 2 s, 4 s, 8 s backoff in between). */
const SEED_ACTIVITY_ATTEMPTS = 5;

export type StopReason = 'patience' | 'max-iterations' | 'stopped' | 'budget_exhausted';

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
    /** Which step found it: a role-step graph particle or a weight-step JFK assignment (`particle` = trial). */
    step: 'role' | 'weight';
    /** Model id → the model name (adapter version) the best system used. */
    versions: Record<string, string>;
    transcripts: { dev: string; test: string };
    test: Omit<EvaluationResult, 'transcriptKey' | 'usage'>;
  };
  summaries: SearchState['summaries'];
  /** Every model's latest JFK-score and adapter version (null: no weight step ran). */
  models: ModelStatus[] | null;
  counters: Counters;
  runs: number;
  /** The baselines run before the search (null: none configured, or they failed: `baselinesFailure`). */
  baselines: Baselines | null;
  baselinesFailure: { type: string; message: string } | null;
}

/**
 * A study as far as it has come (the `report` query, and what `hs report` draws): the `SearchReport` without
 * what only the end brings — the stop reason and the best system's test evaluation — while it runs.
 */
export interface StudyView extends Omit<SearchReport, 'stoppedBy' | 'best'> {
  /** Null while the study runs. */
  stoppedBy: StopReason | null;
  best: Omit<SearchReport['best'], 'testScore' | 'test' | 'transcripts'> & {
    testScore: number | null;
    transcripts: { dev: string; test: string | null };
    test: SearchReport['best']['test'] | null;
  };
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
      costUsd: c.costUsd + e.usage.costUsd,
      evaluations: c.evaluations + 1,
      unparsable: c.unparsable + e.unparsable,
      errors: c.errors + e.errors,
    }),
    counters,
  );
}

/**
 * Role step 1c (`search.py` L578-596): the iteration's best graph, with the current models and the identity
 * assignment, becomes the all-time best if strictly better.
 */
function bestAfterRole(best: BestSystem | undefined, step: RoleStepResult, versions: WeightState['versions'] | undefined): BestSystem {
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
    step: 'role',
    ...(versions === undefined ? {} : { versions }),
  };
}

/** Weight step 2c (`search.py` L694-711): the best JFK assignment, if strictly better, on graph k*. */
function bestAfterWeight(best: BestSystem, step: WeightStepResult, role: RoleStepResult): BestSystem {
  const t = step.bestTrial;
  const evaluation = step.evaluations[t]!;
  if (!(evaluation.score > best.devScore)) return best;
  const k = role.iterationBest;
  return {
    devScore: evaluation.score,
    iteration: step.iteration,
    particle: t,
    graph: role.graphs[k]!,
    assignment: step.assignments[t]!,
    matrix: role.swarm.particles[k]!.position,
    transcriptKey: evaluation.transcriptKey,
    step: 'weight',
    versions: step.weights.versions,
  };
}

function summaryOf(step: RoleStepResult, weight: WeightStepResult | undefined): SearchState['summaries'][number] {
  const scores = step.evaluations.map((e) => e.score);
  return {
    iteration: step.iteration,
    bestScore: Math.max(...scores),
    meanScore: scores.reduce((a, b) => a + b, 0) / scores.length,
    globalBestScore: step.swarm.globalBestScore,
    ...(weight === undefined ? {} : { jfk: weight.jfk, bestAssignmentScore: weight.evaluations[weight.bestTrial]!.score }),
  };
}

/**
 * The best system's DAG in model ids. A JFK assignment may put one model in several slots: those nodes are
 * told apart as `<id>#<slot>`.
 */
function drawnGraph(best: BestSystem, modelId: (model: number) => string): { edges: [string, string][]; order: string[]; sink: string } {
  const uses = new Map<number, number>();
  for (const m of best.assignment) uses.set(m, (uses.get(m) ?? 0) + 1);
  const label = (slot: number): string => {
    const model = best.assignment[slot]!;
    return (uses.get(model) ?? 0) > 1 ? `${modelId(model)}#${slot}` : modelId(model);
  };
  return {
    edges: best.graph.edges.map(([from, to]): [string, string] => [label(from), label(to)]),
    order: best.graph.order.map(label),
    sink: label(best.graph.sink),
  };
}

/** Every model's latest JFK-score and version, for `status` and the report. */
function modelStatuses(config: SearchConfig, weights: WeightState | undefined): ModelStatus[] | null {
  if (weights === undefined) return null;
  return config.models.map((m, i) => {
    const v: ModelVersion | null | undefined = weights.versions[i];
    return {
      id: m.id,
      jfk: weights.jfk[i] ?? null,
      served: v?.served ?? m.model,
      adapterSha256: v?.sha256 ?? null,
      adapterIteration: v?.iteration ?? null,
      ...(v?.seeded ? { seeded: true as const } : {}),
    };
  });
}

/** Fails the study clearly (instead of a workflow task failing forever) when a hand-over would not fit. */
function checkPayload(what: string, value: unknown): void {
  const problem = payloadProblem(what, value);
  if (problem !== undefined) throw ApplicationFailure.nonRetryable(problem, FailureType.PayloadTooLarge);
}

function invalid(message: string, problems: unknown): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.InvalidSearchConfig, problems);
}

/** An activity's failure while preparing an adapter seed, as the update's failure: the activity's type and message. */
function seedFailure(model: string, error: unknown): unknown {
  if (!(error instanceof ActivityFailure) || !(error.cause instanceof ApplicationFailure)) return error;
  return ApplicationFailure.create({ type: error.cause.type ?? FailureType.AdapterInvalid, message: `Seed of model "${model}" failed: ${error.cause.message}`, nonRetryable: true, cause: error });
}

export async function swarmSearch(configInput: unknown, carried?: unknown): Promise<SearchReport> {
  const parsed = parseSearchConfig(configInput);
  if (!parsed.ok) {
    const lines = parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw invalid(`Invalid search config: ${lines}`, parsed.problems);
  }
  /** The settings of the running iteration; `nextConfig` (changed by `configure`) takes over at the next one. */
  let config: SearchConfig = parsed.config;
  let nextConfig: SearchConfig = config;
  let reconfigured = false;
  /** The limit that paused the study (`onExhausted: pause`), until `configure` raises it. */
  let budgetExhausted: string | null = null;
  const spent = (): Spent => {
    const counters = state?.counters ?? EMPTY_COUNTERS;
    const since = state?.startedAt ?? workflowInfo().runStartTime.getTime();
    return { ...counters, wallClockHours: Math.max(0, Date.now() - since) / 3_600_000 };
  };
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
  /** Evaluations of the running iteration's finished role step (counted in `status` before the state has them). */
  let finishedThisIteration: EvaluationResult[] = [];
  /** Imported initial adapters, before the first state exists. */
  let initialWeights: WeightState | undefined;
  /** The baselines' outcome and evaluations, before the first state exists. */
  let baselineOutcome: { baselines?: Baselines; failure?: { type: string; message: string } } | undefined;
  let baselineEvaluationsDone: EvaluationResult[] = [];
  const withWeights = weightStepActive(config);
  const weightActs = weightActivities(config.evaluation.heartbeatTimeoutSeconds);
  /** For a `seed` update: an unreachable store or endpoint fails the update after ~30 s instead of holding it. */
  const seedActs = weightActivities(config.evaluation.heartbeatTimeoutSeconds, SEED_ACTIVITY_ATTEMPTS);

  setHandler(statusQuery, (): StatusView => {
    const best = state?.best;
    return {
      study: config.study,
      phase: (paused || budgetExhausted !== null) && (phase === 'role-step' || phase === 'weight-step') && currentStep === null ? 'paused' : phase,
      iteration: state?.iteration ?? 0,
      maxIterations: nextConfig.maxIterations,
      bestDevScore: best?.devScore ?? null,
      bestTestScore: testScore,
      bestGraph: best
        ? drawnGraph(best, modelId)
        : null,
      counters: countersAfter(state?.counters ?? EMPTY_COUNTERS, state === undefined ? [...baselineEvaluationsDone, ...finishedThisIteration] : finishedThisIteration),
      baselines: state?.baselines ?? baselineOutcome?.baselines ?? null,
      startedAt: state?.startedAt ?? workflowInfo().runStartTime.getTime(),
      models: modelStatuses(config, state?.weights ?? initialWeights),
      paused,
      stopRequested,
      runs: state?.runs ?? 0,
      currentStep,
      settings: liveSettings(nextConfig),
      budget: { limits: nextConfig.budget, spent: spent(), exhausted: budgetExhausted },
    };
  });
  setHandler(particlesQuery, () => particlesView(state, modelId));
  /** The study so far, shaped like its final report (null until the initialisation is done). */
  const studyView = (s: SearchState): StudyView => {
    const best = s.best;
    return {
      study: config.study,
      stoppedBy: null,
      iterations: s.iteration,
      best: {
        devScore: best.devScore,
        testScore: null,
        iteration: best.iteration,
        particle: best.particle,
        ...drawnGraph(best, modelId),
        assignment: best.assignment.map(modelId),
        step: best.step,
        versions: Object.fromEntries(modelsAt(config.models, best.versions).map((m) => [m.id, m.model])),
        transcripts: { dev: best.transcriptKey, test: null },
        test: null,
      },
      summaries: s.summaries,
      models: modelStatuses(config, s.weights),
      counters: s.counters,
      runs: s.runs,
      baselines: s.baselines ?? null,
      baselinesFailure: s.baselinesFailure ?? null,
    };
  };
  setHandler(reportQuery, () => (state === undefined ? null : studyView(state)));
  const withPatch = (patch: unknown): SearchConfig => {
    const outcome = applySettingsPatch(nextConfig, patch, state?.iteration ?? 0);
    if (!outcome.ok) {
      const lines = outcome.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      throw ApplicationFailure.nonRetryable(`Invalid configure patch: ${lines}`, FailureType.InvalidUpdate, outcome.problems);
    }
    return outcome.config;
  };
  setHandler(
    configureUpdate,
    (patch): ConfigureResult => {
      nextConfig = withPatch(patch);
      reconfigured = true;
      return { appliesFromIteration: nextIterationFrom(), settings: liveSettings(nextConfig) };
    },
    { validator: (patch) => void withPatch(patch) },
  );
  /** Seeds accepted by `seed`, injected into the swarms at the next iteration boundary. */
  let pendingSeeds: GraphSeed[] = [];
  let pendingAdapterSeeds: AdapterSeed[] = [];
  const nextIterationFrom = (): number => (state === undefined ? 0 : state.iteration + 1) + (currentStep === null ? 0 : 1);
  const checkedSeed = (input: unknown): GraphSeed | AdapterSeedRequest => {
    if (state === undefined) throw ApplicationFailure.nonRetryable('Invalid seed: the swarms do not exist yet (iteration 0 is running); seed after it', FailureType.InvalidUpdate);
    if (stopRequested || phase === 'final-test' || phase === 'done') throw ApplicationFailure.nonRetryable('Invalid seed: the study is stopping; no iteration follows', FailureType.InvalidUpdate);
    const outcome = parseSeed(input, { models: config.models, swarm: state.swarm, weights: state.weights });
    if (!outcome.ok) throw ApplicationFailure.nonRetryable(`Invalid seed: ${outcome.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, FailureType.InvalidUpdate, outcome.problems);
    return outcome.seed;
  };
  /**
   * An adapter seed's file on `hs-weights`: imported into the blob store (its tensors checked against the
   * particle's current position), given a zero velocity and published as `<id>@<sha12>`.
   */
  const preparedAdapterSeed = async (request: AdapterSeedRequest): Promise<{ version: ModelVersion; velocity: string }> => {
    const spec = config.models[request.model]!;
    const at = state?.weights === undefined ? undefined : particleOfModel(state.weights.swarms, request.model);
    const like = at === undefined ? undefined : state?.weights?.swarms[at.swarm]?.particles[at.particle]?.position;
    if (spec.adapter === undefined || like === undefined) throw ApplicationFailure.nonRetryable(`Invalid seed: model "${spec.id}" is no model particle`, FailureType.InvalidUpdate);
    // The config's adapterSha256 pins the initial adapter, not this one.
    const { adapterSha256: _initial, ...rest } = spec;
    const model: ModelSpec = { ...rest, adapter: { ...spec.adapter, path: request.path }, ...(request.sha256 === undefined ? {} : { adapterSha256: request.sha256 }) };
    try {
      const version = await seedActs.importAdapter({ model, like, source: 'seed' });
      const { velocity } = await seedActs.initialVelocity({ format: spec.adapter.format, position: version.key, partner: null });
      const { served } = await seedActs.publishAdapter({ model, version });
      return { version: { ...version, served }, velocity };
    } catch (error) {
      throw seedFailure(spec.id, error);
    }
  };
  setHandler(
    seedUpdate,
    async (input): Promise<SeedResult> => {
      const seed = checkedSeed(input);
      if (seed.kind === 'graph') {
        pendingSeeds = [...pendingSeeds, seed];
        return { kind: 'graph', particle: seed.particle, appliesFromIteration: nextIterationFrom() };
      }
      const { version, velocity } = await preparedAdapterSeed(seed);
      if (stopRequested || phase === 'final-test' || phase === 'done') {
        throw ApplicationFailure.nonRetryable(`Seed of model "${config.models[seed.model]!.id}" not applied: the study was stopped while it was prepared; no iteration follows`, FailureType.InvalidUpdate);
      }
      // Queued only now: the boundary it lands on is the one after the activities, whatever ran meanwhile.
      const appliesFromIteration = nextIterationFrom();
      pendingAdapterSeeds = [...pendingAdapterSeeds, { model: seed.model, version: { ...version, iteration: appliesFromIteration - 1, seeded: true }, velocity }];
      return { kind: 'adapter', model: config.models[seed.model]!.id, served: version.served, sha256: version.sha256, appliesFromIteration };
    },
    { validator: (input) => void checkedSeed(input) },
  );
  const hasPendingSeeds = (): boolean => pendingSeeds.length > 0 || pendingAdapterSeeds.length > 0;
  /**
   * `s` with the pending seeds injected (graph swarm and weight state); the adapter versions they replaced are
   * unloaded, best effort like the weight step's retired versions. Repeats while seeds arrive meanwhile.
   */
  const applyPendingSeeds = async (s: SearchState): Promise<SearchState> => {
    let next = s;
    while (hasPendingSeeds()) {
      const graphs = pendingSeeds;
      const adapters = pendingAdapterSeeds;
      pendingSeeds = [];
      pendingAdapterSeeds = [];
      const injected = adapters.length > 0 && next.weights !== undefined ? injectAdapterSeeds(next.weights, adapters) : undefined;
      next = { ...next, swarm: injectSeeds(next.swarm, graphs), ...(injected === undefined ? {} : { weights: injected.weights }) };
      state = next;
      await Promise.all(
        (injected?.retired ?? []).map(async ({ model, served }) => {
          try {
            await weightActs.unloadAdapters({ model: config.models[model]!, names: [served] });
          } catch (error) {
            log.warn('could not unload an adapter version replaced by a seed', { model: config.models[model]!.id, served, error: error instanceof Error ? error.message : String(error) });
          }
        }),
      );
    }
    return next;
  };
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
  const bestScoreGauge = metricMeter.createGauge('hs_best_dev_score', 'float', 'accuracy', "The study's all-time best dev score");
  /** After every iteration: search attributes, the best-score gauge and one log entry (metrics and logs are replay-safe). */
  const announce = (s: SearchState): void => {
    upsertSearchAttributes([
      { key: iterationKey, value: s.iteration },
      { key: bestScoreKey, value: s.best.devScore },
    ]);
    bestScoreGauge.set(s.best.devScore, { study: config.study });
    const summary = s.summaries[s.summaries.length - 1];
    log.info('iteration finished', { study: config.study, iteration: s.iteration, bestDevScore: s.best.devScore, iterationBestScore: summary?.bestScore, meanScore: summary?.meanScore, calls: s.counters.calls, costUsd: s.counters.costUsd });
  };

  /**
   * One iteration: the role-step child, then (with adapters) the weight-step child on the role step's best
   * graph. Iteration 0 (no previous state) is the initialisation. The caller ends it with `iterationDone`.
   */
  const runIteration = async (iteration: number, task: TaskRef, previous: SearchState | undefined, weights: WeightState | undefined): Promise<{ role: RoleStepResult; weight?: WeightStepResult }> => {
    phase = 'role-step';
    currentStep = roleStepWorkflowId(config.study, iteration);
    const roleInput = { config, iteration, task, ...(previous ? { swarm: previous.swarm } : {}), ...(weights ? { versions: weights.versions } : {}) };
    checkPayload(`the input of ${currentStep}`, roleInput);
    const role = await executeChild(roleStep, { workflowId: currentStep, taskQueue: ORCHESTRATOR_TASK_QUEUE, args: [roleInput] });
    if (weights === undefined) return { role };
    finishedThisIteration = role.evaluations;
    phase = 'weight-step';
    currentStep = weightStepWorkflowId(config.study, iteration);
    const weight = await executeChild(weightStep, {
      workflowId: currentStep,
      taskQueue: ORCHESTRATOR_TASK_QUEUE,
      args: [{ config, iteration, task, graph: role.graphs[role.iterationBest]!, weights }],
    });
    return { role, weight };
  };
  /**
   * Ends an iteration, right after its result is in `state` (not earlier: an update handler resuming between
   * would count `nextIterationFrom` from the previous state).
   */
  const iterationDone = (): void => {
    currentStep = null;
    finishedThisIteration = [];
  };

  /**
   * The baselines child (core/baselines.ts) on the initial models. Its failure does not stop the search: it is
   * logged and kept in the state (`baselinesFailure`) for the report; only a cancellation propagates.
   */
  const runBaselines = async (task: TaskRef, versions: WeightState['versions'] | undefined): Promise<{ baselines?: Baselines; failure?: { type: string; message: string } }> => {
    phase = 'baselines';
    currentStep = baselinesWorkflowId(config.study);
    try {
      const result: BaselinesResult = await executeChild(baselinesWorkflow, {
        workflowId: currentStep,
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        args: [{ config, task, ...(versions ? { versions } : {}) }],
      });
      baselineEvaluationsDone = result.evaluations;
      return { baselines: result.baselines };
    } catch (error) {
      if (isCancellation(error) || !(error instanceof ChildWorkflowFailure)) throw error;
      // The deepest cause names what went wrong (child → activity → the activity's ApplicationFailure).
      let cause: Error = error;
      while (cause.cause instanceof Error) cause = cause.cause;
      const failure = { type: cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : cause.name, message: cause.message };
      log.warn('baselines failed; the search goes on without them', { study: config.study, ...failure });
      return { failure };
    } finally {
      currentStep = null;
    }
  };

  /** The state after one iteration (not for iteration 0). */
  const stateAfter = (previous: SearchState, step: { role: RoleStepResult; weight?: WeightStepResult }): SearchState => {
    const roleBest = bestAfterRole(previous.best, step.role, previous.weights?.versions);
    return {
      ...previous,
      iteration: step.role.iteration,
      swarm: step.role.swarm,
      ...(step.weight ? { weights: step.weight.weights } : {}),
      best: step.weight ? bestAfterWeight(roleBest, step.weight, step.role) : roleBest,
      summaries: [...previous.summaries, summaryOf(step.role, step.weight)],
      counters: countersAfter(previous.counters, [...step.role.evaluations, ...(step.weight?.evaluations ?? [])]),
    };
  };

  if (state === undefined) {
    const fingerprint = await cheap.loadTask(config.task);
    if (withWeights) {
      // §1.1 step 2: the initial adapters become version 0 of every model particle, published under their own
      // name (so what is evaluated is exactly what the PSO moves, and hot-loading is proven before any cost).
      const versions = await Promise.all(
        config.models.map(async (model) => {
          if (model.adapter === undefined) return null;
          const version = await weightActs.importAdapter({ model });
          await weightActs.publishAdapter({ model, version });
          return version;
        }),
      );
      initialWeights = { swarms: [], versions, jfk: [] };
    }
    config = nextConfig;
    // Studies started before baselines existed replay without them (test/replay/README.md).
    if (config.baselines.length > 0 && patched(BASELINES_PATCH)) baselineOutcome = await runBaselines({ spec: config.task, sha256: fingerprint.sha256 }, initialWeights?.versions);
    const step = await runIteration(0, { spec: config.task, sha256: fingerprint.sha256 }, undefined, initialWeights);
    state = {
      version: STATE_VERSION,
      iteration: 0,
      task: fingerprint,
      swarm: step.role.swarm,
      ...(step.weight ? { weights: step.weight.weights } : {}),
      // "all time best dev, graph side only in initialization" (`search.py`): the initial JFK assignments score
      // the models but do not compete for the all-time best.
      best: bestAfterRole(undefined, step.role, initialWeights?.versions),
      summaries: [summaryOf(step.role, step.weight)],
      counters: countersAfter(EMPTY_COUNTERS, [...baselineEvaluationsDone, ...step.role.evaluations, ...(step.weight?.evaluations ?? [])]),
      ...(baselineOutcome?.baselines ? { baselines: baselineOutcome.baselines } : {}),
      ...(baselineOutcome?.failure ? { baselinesFailure: baselineOutcome.failure } : {}),
      paused,
      stopRequested,
      runs: 0,
      startedAt: workflowInfo().runStartTime.getTime(),
    };
    iterationDone();
    announce(state);
  }
  phase = withWeights ? 'weight-step' : 'role-step';

  let iterationsThisRun = 0;
  let stoppedBy: StopReason;
  for (;;) {
    config = nextConfig;
    if (hasPendingSeeds()) state = await applyPendingSeeds(state);
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
    // Budgets are checked before every iteration: one started under budget finishes (`--dry-run` projects its cost).
    budgetExhausted = exhaustedLimit(config.budget, spent());
    if (budgetExhausted !== null) {
      if (config.budget.onExhausted === 'end') {
        stoppedBy = 'budget_exhausted';
        break;
      }
      const limits = config.budget;
      // Wait for `configure` to change the budget (or `stop`); the wall-clock limit is checked again hourly.
      await condition(() => nextConfig.budget !== limits || stopRequested, '1 hour');
      config = nextConfig;
      budgetExhausted = exhaustedLimit(config.budget, spent());
      continue;
    }
    if (iterationsThisRun >= config.continueAsNewEvery || workflowInfo().continueAsNewSuggested) {
      // Seeds accepted while handlers finish (an adapter seed's activities) belong to the carried state.
      do {
        await condition(allHandlersFinished);
        state = await applyPendingSeeds(state);
      } while (!allHandlersFinished() || hasPendingSeeds());
      const next: SearchState = { ...state, paused, stopRequested, runs: state.runs + 1 };
      checkPayload('the state carried across continue-as-new', next);
      // A reconfigured study carries its new settings (a parsed config parses to itself).
      return await continueAsNew<typeof swarmSearch>(reconfigured ? nextConfig : configInput, next);
    }
    const step = await runIteration(state.iteration + 1, { spec: config.task, sha256: state.task.sha256 }, state, state.weights);
    state = stateAfter(state, step);
    iterationDone();
    iterationsThisRun++;
    announce(state);
  }

  phase = 'final-test';
  const best = state.best;
  // The best system's adapter versions may have been unloaded since: load them again (idempotent).
  await republishVersions(config, best.versions);
  const test = await evaluateServed(
    config,
    best.versions,
    evaluationRequest(
      config,
      { spec: config.task, sha256: state.task.sha256 },
      best.graph,
      best.assignment,
      'test',
      { study: config.study, iteration: state.iteration, step: 'final', particle: best.particle },
      modelsAt(config.models, best.versions),
    ),
  );
  testScore = test.score;
  state = { ...state, counters: countersAfter(state.counters, [test]) };
  phase = 'done';
  await condition(allHandlersFinished);
  const { transcriptKey, usage: _usage, ...testCounts } = test;
  const view = studyView(state);
  return { ...view, stoppedBy, best: { ...view.best, testScore: test.score, transcripts: { dev: best.transcriptKey, test: transcriptKey }, test: testCounts } };
}
