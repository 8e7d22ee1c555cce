/**
 * `SearchState`: everything `swarmSearch` carries across continue-as-new. JSON-plain and versioned; parsed
 * with zod whenever it re-enters a workflow, so a malformed or future state fails loudly instead of drifting.
 */
import { z } from 'zod';
import { BaselinesSchema } from './baselines';
import { DecodedGraphSchema, UsageSchema } from './evaluation';

export const STATE_VERSION = 1;

const MatrixSchema = z.array(z.array(z.number()));

/** The JSON shape of `Swarm<P>` (core/swarm.ts) for positions described by `position`. */
function swarmFields<P extends z.ZodType>(position: P) {
  const particle = z.strictObject({
    position,
    velocity: position,
    personalBest: position,
    personalBestScore: z.number(),
    history: z.array(z.number()),
    restartCooldown: z.int().min(0),
  });
  return {
    particles: z.array(particle).min(1),
    globalBest: position,
    globalBestScore: z.number(),
    globalBestHistory: z.array(z.number()).min(1),
    globalWorst: position,
    globalWorstScore: z.number(),
  };
}

/** The graph swarm: positions are adjacency matrices. */
export const GraphSwarmSchema = z.strictObject(swarmFields(MatrixSchema));

const BlobKey = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** One weight swarm (one per base model): positions are blob keys of adapter weights. */
export const WeightSwarmSchema = z.strictObject({
  base: z.string(),
  /** Pool index of every particle. */
  models: z.array(z.int().min(0)).min(1),
  ...swarmFields(BlobKey),
});

/** One version of a model's adapter, as published to its endpoint. */
export const ModelVersionSchema = z.strictObject({
  /** The model name to request: `<id>@<sha12>`. */
  served: z.string().min(1),
  /** sha256 of the adapter weights file (GGUF file / adapter_model.safetensors); keys the call cache. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Blob key of the weights file. */
  key: BlobKey,
  /** Blob key of a PEFT adapter's `adapter_config.json`. */
  configKey: BlobKey.optional(),
  /** Iteration that made this version (0 = the initial adapter); for a seeded version, the last iteration
   * finished before it was injected. */
  iteration: z.int().min(0),
  /** Injected by the `seed` update (core/seed.ts) rather than made by the weight step; absent otherwise. */
  seeded: z.literal(true).optional(),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

/** Everything the weight step carries: its swarms and the current version of every model (null: no adapter). */
export const WeightStateSchema = z.strictObject({
  swarms: z.array(WeightSwarmSchema),
  versions: z.array(ModelVersionSchema.nullable()),
  /** Latest JFK-score of every model (what a never-drawn model keeps). */
  jfk: z.array(z.number()),
});
export type WeightState = z.infer<typeof WeightStateSchema>;

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
  /** Which step found it; a weight step's best system is one of its JFK assignments (`particle` = trial). */
  step: z.enum(['role', 'weight']).default('role'),
  /** The model versions of the system (absent: the config's models, i.e. no weight step yet). */
  versions: z.array(ModelVersionSchema.nullable()).optional(),
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
  /** Weight step of this iteration: JFK-score per model and the best assignment's score. */
  jfk: z.array(z.number().nullable()).optional(),
  bestAssignmentScore: z.number().optional(),
});
export type IterationSummary = z.infer<typeof IterationSummarySchema>;

export const SearchStateSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  /** Iterations completed (0 = only the initial evaluation). */
  iteration: z.int().min(0),
  task: z.strictObject({ sha256: z.string(), dev: z.int().min(1), test: z.int().min(0) }),
  swarm: GraphSwarmSchema,
  /** Absent for role-only studies (no model has an adapter, or the weight step is off). */
  weights: WeightStateSchema.optional(),
  best: BestSystemSchema,
  summaries: z.array(IterationSummarySchema),
  counters: CountersSchema,
  paused: z.boolean(),
  stopRequested: z.boolean(),
  /** Number of continue-as-new hand-overs so far. */
  runs: z.int().min(0),
  /** Workflow time (ms since the epoch) the study started: the wall-clock budget counts from it. */
  startedAt: z.number().optional(),
  /** The baselines run before the search (absent: none configured, or they failed — see `baselinesFailure`). */
  baselines: BaselinesSchema.optional(),
  /** Why the baselines did not finish; the search went on without them. */
  baselinesFailure: z.strictObject({ type: z.string(), message: z.string() }).optional(),
});
export type SearchState = z.infer<typeof SearchStateSchema>;

export const EMPTY_COUNTERS: Counters = { calls: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, evaluations: 0, unparsable: 0, errors: 0 };
