/**
 * The evaluation ledger's record (design.md §2): one entry per finished evaluation, keyed by the evaluation's
 * identity, so a retried or re-run activity writes the same key. Shared by the activity that writes it, the
 * `hs audit` command that reads it, and tests.
 */
import { z } from 'zod';
import { EvaluationResultSchema, type EvaluationRequest } from './evaluation';

export const LedgerModelSchema = z.strictObject({
  /** Model id in the pool. */
  id: z.string(),
  /** The model name sent to the endpoint (an adapter version in the weight step). */
  served: z.string(),
  /** sha256 of the adapter behind `served`, when known. */
  adapterSha256: z.string().nullable(),
});
export type LedgerModel = z.infer<typeof LedgerModelSchema>;

export const LedgerEntrySchema = z.strictObject({
  /** sha256 hex of the canonical JSON of `ledgerIdentity(...)`. */
  key: z.string().regex(/^[0-9a-f]{64}$/),
  study: z.string(),
  iteration: z.int().min(0),
  step: z.enum(['baseline', 'role', 'weight', 'final']),
  /** Graph particle (role), JFK trial (weight), the best system's particle (final) or the baseline (model index for
   * a single model, N for the chain, N+1 for the star); null when unlabelled. */
  particle: z.int().min(0).nullable(),
  split: z.enum(['dev', 'test']),
  taskSha256: z.string(),
  /** Every model of the request (index = model number). */
  models: z.array(LedgerModelSchema),
  /** slot → model id. */
  assignment: z.array(z.string()),
  /** Graph edges between slots, the sink slot, and the topological order. */
  edges: z.array(z.tuple([z.int(), z.int()])),
  sink: z.int().min(0),
  order: z.array(z.int().min(0)),
  /** The evaluation's result: score, counts, usage and the transcript's blob key (`hs transcript <key>`). */
  ...EvaluationResultSchema.shape,
  /**
   * Null for a scored evaluation. Set when the finished evaluation was rejected (`EvaluationDegenerate`, or
   * too many bad requests): the counts and transcript are kept for the audit, the score was never used.
   */
  failure: z.strictObject({ type: z.string(), message: z.string() }).nullable(),
  /** Wall-clock time of the evaluation (task load to transcript stored). */
  latencyMs: z.number().min(0),
  /** When the (first) record was written, ISO 8601. */
  recordedAt: z.string(),
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/** What makes two evaluations the same evaluation: hashed (canonical JSON) into the ledger key. */
export function ledgerIdentity(request: EvaluationRequest, taskSha256: string) {
  const { label } = request;
  return {
    study: label.study,
    iteration: label.iteration,
    step: label.step,
    particle: label.particle ?? null,
    split: request.split,
    graph: request.graph,
    assignment: request.assignment,
    models: ledgerModels(request),
    taskSha256,
  };
}

export function ledgerModels(request: Pick<EvaluationRequest, 'models'>): LedgerModel[] {
  return request.models.map((m) => ({ id: m.id, served: m.model, adapterSha256: m.adapterSha256 ?? null }));
}

const STEP_ORDER = { baseline: 0, role: 1, weight: 2, final: 3 } as const;

/** Order of a trail: iteration, then step (baseline, role, weight, final), then particle, then key. */
export function compareLedgerEntries(a: LedgerEntry, b: LedgerEntry): number {
  return a.iteration - b.iteration || STEP_ORDER[a.step] - STEP_ORDER[b.step] || (a.particle ?? -1) - (b.particle ?? -1) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
