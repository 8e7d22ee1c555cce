/**
 * `SearchState`: everything `swarmSearch` carries across continue-as-new. JSON-plain and versioned; parsed
 * with zod whenever it re-enters a workflow, so a malformed or future state fails loudly instead of drifting.
 */
import { z } from 'zod';
import { DecodedGraphSchema, UsageSchema } from './evaluation';

export const STATE_VERSION = 1;

const MatrixSchema = z.array(z.array(z.number()));

export const GraphParticleSchema = z.strictObject({
  position: MatrixSchema,
  velocity: MatrixSchema,
  personalBest: MatrixSchema,
  personalBestScore: z.number(),
  history: z.array(z.number()),
  restartCooldown: z.int().min(0),
});

export const GraphSwarmSchema = z.strictObject({
  particles: z.array(GraphParticleSchema).min(1),
  globalBest: MatrixSchema,
  globalBestScore: z.number(),
  globalBestHistory: z.array(z.number()).min(1),
  globalWorst: MatrixSchema,
  globalWorstScore: z.number(),
});

/** The best multi-LLM system ever seen on dev (`all_time_best/`): graph, models, assignment. */
export const BestSystemSchema = z.strictObject({
  devScore: z.number(),
  iteration: z.int().min(0),
  particle: z.int().min(0),
  graph: DecodedGraphSchema,
  /** slot → model index (identity in the role step). */
  assignment: z.array(z.int().min(0)),
  /** The adjacency matrix that decoded to `graph`. */
  matrix: MatrixSchema,
  transcriptKey: z.string(),
});
export type BestSystem = z.infer<typeof BestSystemSchema>;

export const CountersSchema = UsageSchema.extend({
  /** System evaluations finished (each = one graph on one split). */
  evaluations: z.int().min(0),
  unparsable: z.int().min(0),
  errors: z.int().min(0),
});
export type Counters = z.infer<typeof CountersSchema>;

export const IterationSummarySchema = z.strictObject({
  iteration: z.int().min(0),
  bestScore: z.number(),
  meanScore: z.number(),
  globalBestScore: z.number(),
});
export type IterationSummary = z.infer<typeof IterationSummarySchema>;

export const SearchStateSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  /** Iterations completed (0 = only the initial evaluation). */
  iteration: z.int().min(0),
  task: z.strictObject({ sha256: z.string(), dev: z.int().min(1), test: z.int().min(0) }),
  swarm: GraphSwarmSchema,
  best: BestSystemSchema,
  summaries: z.array(IterationSummarySchema),
  counters: CountersSchema,
  paused: z.boolean(),
  stopRequested: z.boolean(),
  /** Number of continue-as-new hand-overs so far. */
  runs: z.int().min(0),
});
export type SearchState = z.infer<typeof SearchStateSchema>;

export const EMPTY_COUNTERS: Counters = { calls: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0, evaluations: 0, unparsable: 0, errors: 0 };
