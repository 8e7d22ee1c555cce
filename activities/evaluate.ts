/**
 * `evaluateSystem`: one multi-LLM system (decoded graph + model assignment) on one split of the task —
 * the utility f of the paper (accuracy). Only counts and a transcript key leave the activity; the transcript
 * (every prompt and output) goes to the blob store.
 *
 * Failure handling (design.md §5): a retryable model failure (timeout, 408/409/429/5xx, network) or an
 * unavailable store stops the evaluation — no new nodes start, calls in flight finish and are cached — and
 * fails the attempt with a retryable failure (honouring `retry-after`); Temporal retries the activity and
 * the call cache makes the finished calls free. Auth/NotFound fail it for good. A bad request (400/422)
 * fails only its item, which is counted in `errors` (never scored silently) within `maxErrorFraction`.
 */
import { setMaxListeners } from 'node:events';
import { ApplicationFailure } from '@temporalio/activity';
import { problemsOf } from '../workflows/core/config';
import { FailureType } from '../workflows/core/errors';
import { EvaluationRequestSchema, type EvaluationRequest, type EvaluationResult } from '../workflows/core/evaluation';
import { ledgerModels } from '../workflows/core/ledger';
import { taskPrompt } from '../workflows/core/prompts';
import { scoreItem } from '../workflows/core/scoring';
import type { TaskItem } from '../workflows/core/task';
import { currentActivityHooks, type ActivityHooks } from './activity-context';
import type { BlobStore } from './blob-store';
import { createCachedLlm, type CachedLlm, type CachedLlmDeps } from './cached-llm';
import type { CallCache } from './call-cache';
import { classifyItemErrors, fatalFailure, judgeCounts } from './evaluation-outcome';
import { reportEvaluation } from './evaluation-telemetry';
import { ledgerKey, type Ledger } from './ledger';
import type { KeyedLimiter } from './limiter';
import type { LlmClient } from './llm-client';
import { runItem, systemProblems, type CallTally, type NodeRecord, type SystemSpec } from './system-runner';
import type { TaskLoader } from './task-loader';

/** Dependencies of the evaluation activities (interfaces; the worker builds the real ones). */
export interface EvaluationDeps {
  llm: LlmClient;
  cache: CallCache;
  blobs: BlobStore;
  tasks: TaskLoader;
  /** Where every finished evaluation is recorded (`hs audit`); nothing is recorded without one. */
  ledger?: Ledger;
  /** Shared by all activities of the worker: bounds in-flight calls per endpoint. */
  limiter: KeyedLimiter;
  /** Single-flight group for identical concurrent calls; one per factory call by default. */
  flights?: CachedLlmDeps['flights'];
  /** Heartbeat and cancellation; the current Temporal activity context by default. */
  activityContext?: () => ActivityHooks;
  /** Progress heartbeat period (default 1000 ms); beats are also sent at start and at the end. */
  heartbeatIntervalMs?: number;
}

/** Progress reported in heartbeats (`total` is 0 until the task is loaded). */
export interface EvaluationProgress {
  done: number;
  total: number;
}

/** One item in the transcript. */
export interface TranscriptItem {
  id: string;
  gold: string;
  /** What the scorer read from the sink output; null when unparsable (or failed). */
  parsed: string | null;
  correct: boolean;
  /** Set when the item's model call was rejected (bad request): scored wrong and counted in `errors`. */
  error?: { type: string; message: string };
  /** The nodes that ran, in topological order. */
  nodes: NodeRecord[];
}

/** The transcript document stored in the blob store. */
export interface Transcript {
  version: 1;
  label: EvaluationRequest['label'];
  split: EvaluationRequest['split'];
  taskSha256: string;
  graph: EvaluationRequest['graph'];
  /** Model id per slot. */
  assignment: string[];
  /** Every item, in split order. */
  items: TranscriptItem[];
}

const invalidRequest = (message: string, problems: unknown): ApplicationFailure =>
  ApplicationFailure.create({ type: FailureType.InvalidSearchConfig, message, nonRetryable: true, details: [problems] });

/** The validated request; non-retryable `InvalidSearchConfig` otherwise. */
function checkRequest(input: EvaluationRequest): EvaluationRequest {
  const parsed = EvaluationRequestSchema.safeParse(input);
  if (!parsed.success) {
    const problems = problemsOf(parsed.error);
    throw invalidRequest(`invalid evaluation request: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
  }
  const request = parsed.data;
  const problems = systemProblems(request.graph, request.assignment, request.models.length);
  if (problems.length > 0) throw invalidRequest(`invalid system: ${problems.join('; ')}`, problems);
  return request;
}

/** The items of the requested split, after checking the file is the one the study started with. */
async function loadItems(tasks: TaskLoader, request: EvaluationRequest): Promise<{ items: TaskItem[]; sha256: string }> {
  const { path } = request.task.spec;
  const loaded = await tasks.load(request.task.spec);
  if (loaded.sha256 !== request.task.sha256) {
    throw ApplicationFailure.create({
      type: FailureType.TaskDataChanged,
      message: `task file ${path} changed since the study started (sha256 ${loaded.sha256}, expected ${request.task.sha256}); restore the file or start a new study`,
      nonRetryable: true,
    });
  }
  const items = loaded.data[request.split];
  if (items.length === 0) {
    throw ApplicationFailure.create({ type: FailureType.InvalidTaskData, message: `task file ${path}: the ${request.split} split is empty`, nonRetryable: true });
  }
  return { items, sha256: loaded.sha256 };
}

function systemOf(request: EvaluationRequest): SystemSpec {
  return {
    graph: request.graph,
    assignment: request.assignment,
    models: request.models,
    maxTokens: request.generation.maxTokens,
    temperature: request.generation.temperature,
    newlineToSpace: request.generation.newlineToSpace,
    timeoutMs: Math.round(request.requestTimeoutSeconds * 1000),
    concurrency: request.concurrency,
  };
}

/** Items in flight: enough to keep every endpoint's slots busy, few enough that progress stays steady. */
function itemConcurrency(request: EvaluationRequest): number {
  const limits = new Map<string, number>();
  for (const slot of request.assignment) {
    const m = request.models[slot];
    if (m !== undefined) limits.set(`${m.baseURL}|${m.model}`, m.concurrency ?? request.concurrency);
  }
  return Math.max(1, 2 * [...limits.values()].reduce((a, b) => a + b, 0));
}

/** Runs `fn` over `items`, at most `width` at once; takes no new item once `stop` has aborted. */
async function forEachPooled<T>(items: readonly T[], width: number, stop: AbortSignal, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !stop.aborted) {
      const index = next++;
      await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/** Every item's transcript entry (undefined if not finished), or the failure that stopped the evaluation. */
async function runItems(
  request: EvaluationRequest,
  items: readonly TaskItem[],
  llm: CachedLlm,
  tally: CallTally,
  cancel: AbortSignal | undefined,
  onItemDone: () => void,
): Promise<{ entries: (TranscriptItem | undefined)[]; fatal?: { error: unknown } }> {
  const spec = request.task.spec;
  const system = systemOf(request);
  const stopper = new AbortController();
  const stop = (): void => stopper.abort();
  // Every in-flight call listens on these signals (and removes its listener when done): no fixed cap.
  setMaxListeners(0, stopper.signal, ...(cancel ? [cancel] : []));
  cancel?.addEventListener('abort', stop, { once: true });
  const entries = new Array<TranscriptItem | undefined>(items.length);
  let fatal: { error: unknown } | undefined;
  const failFast = (error: unknown): void => {
    const meaning = classifyItemErrors([error]);
    if (meaning.kind !== 'fatal') return;
    fatal ??= { error: meaning.error };
    stopper.abort();
  };

  const evaluateItem = async (item: TaskItem, index: number): Promise<void> => {
    const prompt = taskPrompt(item, { type: spec.type, instruction: spec.instruction, promptSuffix: spec.promptSuffix });
    const run = await runItem(prompt, { system, llm, tally, cancel, stop: stopper.signal, onCallError: failFast });
    const base = { id: item.id, gold: item.answer, nodes: run.nodes };
    if (run.ok) {
      const { parsed, correct } = scoreItem(run.output, item, { type: spec.type, scoring: spec.scoring, lastTokens: spec.lastTokens });
      entries[index] = { ...base, parsed, correct };
    } else {
      const meaning = classifyItemErrors(run.errors);
      if (meaning.kind === 'stopped') return;
      if (meaning.kind === 'fatal') return failFast(meaning.error);
      entries[index] = { ...base, parsed: null, correct: false, error: { type: FailureType.ModelBadRequest, message: meaning.error.message } };
    }
    onItemDone();
  };

  const guarded = async (item: TaskItem, index: number): Promise<void> => {
    try {
      await evaluateItem(item, index);
    } catch (error) {
      // Not a model failure (those are returned by runItem): a bug or a scorer crash; stop and report it.
      fatal ??= { error };
      stopper.abort();
    }
  };

  try {
    await forEachPooled(items, itemConcurrency(request), stopper.signal, guarded);
  } finally {
    cancel?.removeEventListener('abort', stop);
  }
  return fatal === undefined ? { entries } : { entries, fatal };
}

/** The evaluation activities: `{ evaluateSystem }`. */
export function createEvaluationActivities(deps: EvaluationDeps) {
  const llm = createCachedLlm(deps);
  const hooksOf = deps.activityContext ?? currentActivityHooks;
  const heartbeatEvery = deps.heartbeatIntervalMs ?? 1000;

  /**
   * Evaluates one system on `request.split`; `score = correct / total`. Fails with `InvalidSearchConfig`,
   * `TaskDataChanged`, `InvalidTaskData`, `ModelInvocationError.*`, `StoreUnavailable` or
   * `EvaluationDegenerate` as described in the module comment.
   */
  const evaluateSystem = async (input: EvaluationRequest): Promise<EvaluationResult> => {
    const request = checkRequest(input);
    const hooks = hooksOf();
    const progress: EvaluationProgress = { done: 0, total: 0 };
    const beat = (): void => hooks.heartbeat({ ...progress });
    beat();
    const startedAt = performance.now();
    const { items, sha256 } = await loadItems(deps.tasks, request);
    progress.total = items.length;
    await deps.cache.assertWritable();

    const tally: CallTally = { calls: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
    const timer = setInterval(beat, heartbeatEvery);
    let run: Awaited<ReturnType<typeof runItems>>;
    try {
      run = await runItems(request, items, llm, tally, hooks.cancellationSignal, () => progress.done++);
    } finally {
      clearInterval(timer);
    }
    const cancel = hooks.cancellationSignal;
    if (cancel?.aborted === true) throw cancel.reason instanceof Error ? cancel.reason : new Error(`activity cancelled: ${String(cancel.reason)}`);
    if (run.fatal !== undefined) throw fatalFailure(run.fatal.error);
    beat();

    const entries = run.entries.flatMap((e) => (e === undefined ? [] : [e]));
    if (entries.length !== items.length) throw new Error(`bug: ${items.length - entries.length} items neither scored nor failed`);
    const transcript: Transcript = {
      version: 1,
      label: request.label,
      split: request.split,
      taskSha256: sha256,
      graph: request.graph,
      assignment: request.assignment.map((m) => request.models[m]!.id),
      items: entries,
    };
    const transcriptKey = await deps.blobs.putJson(transcript);
    const { counts, failure } = judgeCounts(request, entries, transcriptKey);
    const result: EvaluationResult = { ...counts, usage: { ...tally }, transcriptKey };
    const latencyMs = performance.now() - startedAt;
    await deps.ledger?.record({
      key: ledgerKey(request, sha256),
      study: request.label.study,
      iteration: request.label.iteration,
      step: request.label.step,
      particle: request.label.particle ?? null,
      split: request.split,
      taskSha256: sha256,
      models: ledgerModels(request),
      assignment: transcript.assignment,
      edges: request.graph.edges,
      sink: request.graph.sink,
      order: request.graph.order,
      ...counts,
      usage: result.usage,
      failure: failure === undefined ? null : { type: String(failure.type), message: failure.message },
      latencyMs: Math.round(latencyMs),
      transcriptKey,
      recordedAt: new Date().toISOString(),
    });
    reportEvaluation(hooks, request, result, latencyMs, failure?.message);
    if (failure !== undefined) throw failure;
    return result;
  };

  return { evaluateSystem };
}
