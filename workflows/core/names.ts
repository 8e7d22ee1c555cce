/**
 * Durable names: task queues, workflow ids, search attributes. Never rename these while executions are
 * open (design.md §2); change behaviour with `patched()` instead.
 */

/** Workflows and cheap activities (load task, decode). */
export const ORCHESTRATOR_TASK_QUEUE = 'hs';
/** Activities that call models. */
export const LLM_TASK_QUEUE = 'hs-llm';
/** Activities on adapter tensors: PSO updates of LoRA weights, publishing adapter versions. */
export const WEIGHTS_TASK_QUEUE = 'hs-weights';
/** Every task queue, in the order a worker polls them by default. */
export const TASK_QUEUES = [ORCHESTRATOR_TASK_QUEUE, LLM_TASK_QUEUE, WEIGHTS_TASK_QUEUE] as const;
export type TaskQueue = (typeof TASK_QUEUES)[number];

export const studyWorkflowId = (study: string): string => `hs/${study}`;
export const roleStepWorkflowId = (study: string, iteration: number): string => `hs/${study}/role-${iteration}`;
export const baselinesWorkflowId = (study: string): string => `hs/${study}/baselines`;
export const weightStepWorkflowId = (study: string, iteration: number): string => `hs/${study}/weight-${iteration}`;

/** Custom search attributes (registered by `hs server start`; `temporal operator search-attribute create` elsewhere). */
export const SEARCH_ATTRIBUTES = {
  study: { name: 'HsStudy', type: 'Keyword' },
  iteration: { name: 'HsIteration', type: 'Int' },
  bestScore: { name: 'HsBestScore', type: 'Double' },
} as const;
