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
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, isRetryableFailure } from '../workflows/core/errors';
import { EvaluationRequestSchema, type EvaluationRequest, type EvaluationResult } from '../workflows/core/evaluation';
import { problemsOf } from '../workflows/core/config';
import { taskPrompt } from '../workflows/core/prompts';
import { scoreItem } from '../workflows/core/scoring';
import type { TaskItem } from '../workflows/core/task';
import { currentActivityHooks, type ActivityHooks } from './activity-context';
import type { BlobStore } from './blob-store';
import { createCachedLlm, type CachedLlmDeps } from './cached-llm';
import type { CallCache } from './call-cache';
import type { KeyedLimiter } from './limiter';
import type { LlmClient } from './llm-client';
import { isModelCallError } from './llm-client';
import { EvaluationStopped, runItem, systemProblems, type CallTally, type NodeRecord, type SystemSpec } from './system-runner';
import type { TaskLoader } from './task-loader';

/** Dependencies of the evaluation activities (interfaces; real ones are built by the worker). */
export interface EvaluationDeps {
  llm: LlmClient;
  cache: CallCache;
  blobs: BlobStore;
  tasks: TaskLoader;
  /** Shared by all activities of the worker: bounds in-flight calls per endpoint. */
  limiter: KeyedLimiter;
  /** Single-flight group for identical concurrent calls; one per factory call by default. */
  flights?: CachedLlmDeps['flights'];
  /** Heartbeat and cancellation; the current Temporal activity context by default. */
  activityContext?: () => ActivityHooks;
  /** Progress heartbeat period (default 1000 ms); one more beat is sent at start. */
  heartbeatIntervalMs?: number;
}

/** Progress reported in heartbeats. */
export interface EvaluationProgress {
  done: number;
  total: number;
}

/** One item in the transcript. */
export interface TranscriptItem {
  id: string;
  gold: string;
  parsed: string | null;
  correct: boolean;
  /** Set when the item's model call was rejected (bad request): scored wrong and counted in `errors`. */
  error?: { type: string; message: string };
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
  items: TranscriptItem[];
}

type Outcome =
  | { kind: 'scored'; item: TranscriptItem }
  | { kind: 'error'; item: TranscriptItem; index: number }
  | { kind: 'fatal'; error: unknown };

const invalidRequest = (message: string, details?: unknown): ApplicationFailure =>
  ApplicationFailure.create({ type: FailureType.InvalidSearchConfig, message, nonRetryable: true, details: details === undefined ? undefined : [details] });

/** A retryable or final `ApplicationFailure` for a failure that stops the whole evaluation. */
function fatalFailure(error: unknown): unknown {
  if (!isModelCallError(error)) return error;
  const retryable = isRetryableFailure(error.type);
  return ApplicationFailure.create({
    type: error.type,
    message: error.message,
    nonRetryable: !retryable,
    nextRetryDelay: retryable && error.retryAfterMs !== undefined ? `${error.retryAfterMs}ms` : undefined,
    details: error.status === undefined ? undefined : [{ status: error.status }],
  });
}

/** Picks what an item's errors mean: a fatal failure, an item error (bad request), or "stopped". */
function classify(errors: readonly unknown[]): { kind: 'fatal'; error: unknown } | { kind: 'badRequest'; error: Error } | { kind: 'stopped' } {
  const fatal = errors.find((e) => !(e instanceof EvaluationStopped) && !(isModelCallError(e) && e.type === FailureType.ModelBadRequest));
  if (fatal !== undefined) return { kind: 'fatal', error: fatal };
  const bad = errors.find((e) => isModelCallError(e));
  return bad instanceof Error ? { kind: 'badRequest', error: bad } : { kind: 'stopped' };
}

/** Item concurrency: enough items in flight to keep every endpoint's slots busy, no more (progress stays steady). */
function itemConcurrency(request: EvaluationRequest): number {
  const limits = new Map<string, number>();
  for (const slot of request.assignment) {
    const m = request.models[slot];
    if (m !== undefined) limits.set(`${m.baseURL}|${m.model}`, m.concurrency ?? request.concurrency);
  }
  return Math.max(1, 2 * [...limits.values()].reduce((a, b) => a + b, 0));
}

/** Runs `fn` over `items` with at most `width` at once; stops taking new items once `stop` aborts. */
async function forEachPooled<T>(items: readonly T[], width: number, stop: AbortSignal, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop.aborted) {
      const index = next++;
      await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** The evaluation activities: `{ evaluateSystem }`. */
export function createEvaluationActivities(deps: EvaluationDeps) {
  const llm = createCachedLlm(deps);
  const hooksOf = deps.activityContext ?? currentActivityHooks;
  const heartbeatEvery = deps.heartbeatIntervalMs ?? 1000;

  return {
    /**
     * Evaluates one system on `request.split`; `score = correct / total`. Fails with `InvalidSearchConfig`,
     * `TaskDataChanged`, `InvalidTaskData`, `ModelInvocationError.*`, `StoreUnavailable` or
     * `EvaluationDegenerate` as described in the module comment.
     */
    async evaluateSystem(input: EvaluationRequest): Promise<EvaluationResult> {
      const parsed = EvaluationRequestSchema.safeParse(input);
      if (!parsed.success) {
        const problems = problemsOf(parsed.error);
        throw invalidRequest(`invalid evaluation request: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
      }
      const request = parsed.data;
      const problems = systemProblems(request.graph, request.assignment, request.models.length);
      if (problems.length > 0) throw invalidRequest(`invalid system: ${problems.join('; ')}`, problems);

      const hooks = hooksOf();
      const cancel = hooks.cancellationSignal;
      const progress: EvaluationProgress = { done: 0, total: 0 };
      hooks.heartbeat({ ...progress });

      const loaded = await deps.tasks.load(request.task.spec);
      if (loaded.sha256 !== request.task.sha256) {
        throw ApplicationFailure.create({
          type: FailureType.TaskDataChanged,
          message: `task file ${request.task.spec.path} changed since the study started (sha256 ${loaded.sha256}, expected ${request.task.sha256}); start a new study or restore the file`,
          nonRetryable: true,
        });
      }
      const items = loaded.data[request.split];
      if (items.length === 0) {
        throw ApplicationFailure.create({ type: FailureType.InvalidTaskData, message: `task file ${request.task.spec.path}: the ${request.split} split is empty`, nonRetryable: true });
      }
      progress.total = items.length;
      hooks.heartbeat({ ...progress });

      const spec = request.task.spec;
      const system: SystemSpec = {
        graph: request.graph,
        assignment: request.assignment,
        models: request.models,
        maxTokens: request.generation.maxTokens,
        temperature: request.generation.temperature,
        newlineToSpace: request.generation.newlineToSpace,
        timeoutMs: Math.round(request.requestTimeoutSeconds * 1000),
        concurrency: request.concurrency,
      };
      const tally: CallTally = { calls: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0 };
      const stopper = new AbortController();
      const onCancel = (): void => stopper.abort();
      cancel?.addEventListener('abort', onCancel, { once: true });
      const outcomes: (Outcome | undefined)[] = new Array<Outcome | undefined>(items.length);
      let fatal: { error: unknown } | undefined;
      const timer = setInterval(() => hooks.heartbeat({ ...progress }), heartbeatEvery);

      const evaluateItem = async (item: TaskItem, index: number): Promise<void> => {
        const prompt = taskPrompt(item, { type: spec.type, instruction: spec.instruction, promptSuffix: spec.promptSuffix });
        const run = await runItem(prompt, { system, llm, tally, cancel, stop: stopper.signal });
        if (run.ok) {
          const score = scoreItem(run.output, item, { type: spec.type, scoring: spec.scoring, lastTokens: spec.lastTokens });
          outcomes[index] = { kind: 'scored', item: { id: item.id, gold: item.answer, parsed: score.parsed, correct: score.correct, nodes: run.nodes } };
        } else {
          const meaning = classify(run.errors);
          if (meaning.kind === 'fatal') {
            fatal ??= { error: meaning.error };
            stopper.abort();
            return;
          }
          if (meaning.kind === 'stopped') return;
          const error = { type: FailureType.ModelBadRequest, message: meaning.error.message };
          outcomes[index] = { kind: 'error', index, item: { id: item.id, gold: item.answer, parsed: null, correct: false, error, nodes: run.nodes } };
        }
        progress.done++;
      };

      try {
        await forEachPooled(items, itemConcurrency(request), stopper.signal, evaluateItem);
      } finally {
        clearInterval(timer);
        cancel?.removeEventListener('abort', onCancel);
      }
      if (cancel?.aborted === true) throw cancel.reason instanceof Error ? cancel.reason : new Error('activity cancelled');
      if (fatal !== undefined) throw fatalFailure(fatal.error);
      hooks.heartbeat({ ...progress });

      const done = outcomes.flatMap((o) => (o === undefined || o.kind === 'fatal' ? [] : [o]));
      const transcript: Transcript = {
        version: 1,
        label: request.label,
        split: request.split,
        taskSha256: loaded.sha256,
        graph: request.graph,
        assignment: request.assignment.map((m) => request.models[m]!.id),
        items: done.map((o) => o.item),
      };
      const transcriptKey = await deps.blobs.putJson(transcript);

      const total = items.length;
      const correct = done.filter((o) => o.item.correct).length;
      const errored = done.filter((o) => o.kind === 'error');
      const unparsable = done.filter((o) => o.kind === 'scored' && o.item.parsed === null).length;
      const firstError = errored[0];
      if (firstError !== undefined && errored.length / total > request.maxErrorFraction) {
        throw ApplicationFailure.create({
          type: FailureType.ModelBadRequest,
          message:
            `${errored.length} of ${total} items failed with a bad request (maxErrorFraction ${request.maxErrorFraction}); ` +
            `first: item "${firstError.item.id}" (${request.split}[${firstError.index}]): ${firstError.item.error?.message ?? ''} (transcript ${transcriptKey})`,
          nonRetryable: true,
          details: [{ errors: errored.length, total, transcriptKey }],
        });
      }
      if (unparsable / total > request.maxUnparsableFraction) {
        throw ApplicationFailure.create({
          type: FailureType.EvaluationDegenerate,
          message: `${unparsable} of ${total} answers were unparsable (maxUnparsableFraction ${request.maxUnparsableFraction}); the models' answers do not fit the task format (transcript ${transcriptKey})`,
          nonRetryable: true,
          details: [{ unparsable, total, transcriptKey }],
        });
      }
      return { score: correct / total, total, correct, unparsable, errors: errored.length, usage: { ...tally }, transcriptKey };
    },
  };
}
