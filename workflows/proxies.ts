/**
 * Every activity proxy, with its task queue, timeouts and retry policy. Failures whose type is listed in
 * NON_RETRYABLE_FAILURES are never retried; everything else retries with backoff, honouring `retry-after`
 * (`nextRetryDelay`) — and the call cache makes each retry free for calls that already finished.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { NON_RETRYABLE_FAILURES } from './core/errors';
import { LLM_TASK_QUEUE, ORCHESTRATOR_TASK_QUEUE, WEIGHTS_TASK_QUEUE } from './core/names';

type Activities = ReturnType<typeof createActivities>;

const nonRetryableErrorTypes = [...NON_RETRYABLE_FAILURES];

/** Cheap activities on the orchestrator queue: load task metadata, decode graphs. */
export const cheap = proxyActivities<Pick<Activities, 'loadTask' | 'decodeGraphs'>>({
  taskQueue: ORCHESTRATOR_TASK_QUEUE,
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes },
});

/** The vote baseline: reads transcripts from the blob store (on `hs-llm`, whose workers hold it); no model calls. */
export const vote = proxyActivities<Pick<Activities, 'voteBaseline'>>({
  taskQueue: LLM_TASK_QUEUE,
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes },
});

/** Model-calling activities; the heartbeat timeout comes from the study config. */
export function modelActivities(heartbeatTimeoutSeconds: number): Pick<Activities, 'evaluateSystem'> {
  return proxyActivities<Pick<Activities, 'evaluateSystem'>>({
    taskQueue: LLM_TASK_QUEUE,
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: `${heartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes', nonRetryableErrorTypes },
  });
}

type WeightActivities = Pick<Activities, 'importAdapter' | 'initialVelocity' | 'updateAdapter' | 'publishAdapter' | 'unloadAdapters'>;

/**
 * Activities on adapters (`hs-weights`). The tensor passes (`initialVelocity`, `updateAdapter`) heartbeat after
 * every tensor, so a dead weights worker is noticed after `heartbeatTimeoutSeconds`; importing, publishing and
 * unloading (a file copy and one HTTP call each) run under a plain start-to-close timeout. `maximumAttempts`
 * bounds the retries where someone waits for the answer (a `seed` update); the steps retry until they succeed.
 */
export function weightActivities(heartbeatTimeoutSeconds: number, maximumAttempts?: number): WeightActivities {
  const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes', nonRetryableErrorTypes, ...(maximumAttempts === undefined ? {} : { maximumAttempts }) };
  const tensors = proxyActivities<Pick<WeightActivities, 'initialVelocity' | 'updateAdapter'>>({
    taskQueue: WEIGHTS_TASK_QUEUE,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: `${heartbeatTimeoutSeconds} seconds`,
    retry,
  });
  const files = proxyActivities<Pick<WeightActivities, 'importAdapter' | 'publishAdapter' | 'unloadAdapters'>>({
    taskQueue: WEIGHTS_TASK_QUEUE,
    startToCloseTimeout: '30 minutes',
    retry,
  });
  // Proxies have no enumerable properties: pick each activity by name.
  return {
    initialVelocity: tensors.initialVelocity,
    updateAdapter: tensors.updateAdapter,
    importAdapter: files.importAdapter,
    publishAdapter: files.publishAdapter,
    unloadAdapters: files.unloadAdapters,
  };
}
