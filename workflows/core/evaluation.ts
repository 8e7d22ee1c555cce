/**
 * The contract of the evaluation activity: one multi-LLM system (a decoded graph + an assignment of models to
 * its slots) evaluated on one split of the task. Only keys, counts and small numbers cross it; transcripts
 * go to the blob store (design.md §2, "history stays small").
 */
import { z } from 'zod';
import { ModelSpecSchema, TaskSpecSchema } from './config';

export const DecodedGraphSchema = z.strictObject({
  n: z.int().min(1),
  edges: z.array(z.tuple([z.int().min(0), z.int().min(0)])),
  sink: z.int().min(0),
  order: z.array(z.int().min(0)),
});

export const TaskRefSchema = z.strictObject({
  spec: TaskSpecSchema,
  /** sha256 of the data file as first loaded; a changed file fails the evaluation (`TaskDataChanged`). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type TaskRef = z.infer<typeof TaskRefSchema>;

export const EvaluationRequestSchema = z.strictObject({
  /** Where this evaluation belongs; recorded with the transcript. */
  label: z.strictObject({
    study: z.string(),
    iteration: z.int().min(0),
    step: z.enum(['baseline', 'role', 'weight', 'final']),
    /** Graph particle (role step), JFK assignment (weight step), or baseline (core/baselines.ts `baselineParticle`). */
    particle: z.int().min(0).optional(),
  }),
  split: z.enum(['dev', 'test']),
  graph: DecodedGraphSchema,
  /** assignment[slot] = index into `models`; identity in the role step. */
  assignment: z.array(z.int().min(0)),
  models: z.array(ModelSpecSchema).min(1),
  task: TaskRefSchema,
  generation: z.strictObject({
    maxTokens: z.int().min(1),
    temperature: z.number().min(0),
    newlineToSpace: z.boolean(),
  }),
  /** Default per-endpoint concurrency (a model's own `concurrency` wins). */
  concurrency: z.int().min(1),
  maxUnparsableFraction: z.number().min(0).max(1),
  maxErrorFraction: z.number().min(0).max(1),
  requestTimeoutSeconds: z.number().positive(),
});
export type EvaluationRequest = z.infer<typeof EvaluationRequestSchema>;

export const UsageSchema = z.strictObject({
  /** Model calls actually sent (and answered) by this evaluation. */
  calls: z.int().min(0),
  /** Model calls answered from the call cache. */
  cacheHits: z.int().min(0),
  promptTokens: z.int().min(0),
  completionTokens: z.int().min(0),
  /** Money spent on the paid calls, in USD, from the models' `price` (0 for models without one). */
  costUsd: z.number().min(0).default(0),
});
export type Usage = z.infer<typeof UsageSchema>;

export const EvaluationResultSchema = z.strictObject({
  /** correct / total: the task utility f (accuracy). */
  score: z.number(),
  total: z.int().min(0),
  correct: z.int().min(0),
  unparsable: z.int().min(0),
  /** Items whose model call was rejected as a bad request (counted, within `maxErrorFraction`). */
  errors: z.int().min(0),
  usage: UsageSchema,
  /** Blob-store key of the full message-passing transcript. */
  transcriptKey: z.string(),
});
export type EvaluationResult = z.infer<typeof EvaluationResultSchema>;

export const EMPTY_USAGE: Usage = { calls: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    calls: a.calls + b.calls,
    cacheHits: a.cacheHits + b.cacheHits,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    costUsd: a.costUsd + b.costUsd,
  };
}
