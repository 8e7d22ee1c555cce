/**
 * The study configuration: the single input of `swarmSearch`, validated by zod at every edge (CLI, workflow
 * start, continue-as-new). Defaults follow paper-notes "Our decisions" 3 (the paper's search grid,
 * `nlgraph.sh`), not the official argparse defaults; each field names its official flag.
 */
import { z } from 'zod';
import { BASELINE_KINDS, BaselineKindsSchema } from './baselines';
import { BudgetSchema } from './budget';
import { estimatedSwarmBytes, PAYLOAD_BUDGET_BYTES } from './payload';

const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-" (starting with a letter or digit)')
  .max(64);

export const ModelSpecSchema = z.strictObject({
  /** Stable id of the model in the pool; used in reports and the cache key. */
  id: identifier,
  /** OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 */
  baseURL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8080/v1' }),
  /** Model name sent in requests. */
  model: z.string().min(1),
  /** NAME of the worker environment variable holding the API key (never the key itself). */
  apiKeyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable (e.g. OPENAI_API_KEY), never the key itself')
    .optional(),
  /** USD per million tokens, for budgets and `hs start --dry-run`; absent = free (a local model). */
  price: z
    .strictObject({
      promptPerMillion: z.number().min(0).max(1_000_000),
      completionPerMillion: z.number().min(0).max(1_000_000),
    })
    .optional(),
  /** Max concurrent requests to this endpoint from one worker (defaults to the study's `concurrency`). */
  concurrency: z.int().min(1).max(256).optional(),
  /** sha256 of the LoRA adapter behind `model`, when the endpoint serves one (e.g. `hs pool init`): part of the
   * call-cache key, so a changed adapter never hits a stale cache entry. */
  adapterSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256').optional(),
  /** The LoRA adapter behind `model`: makes this model a particle of the weight step. */
  adapter: z
    .strictObject({
      /** The initial adapter: a GGUF LoRA file (llama.cpp, `hs llm serve`) or a PEFT directory
       * (`adapter_config.json` + `adapter_model.safetensors`; vLLM). Relative paths resolve against the
       * worker's data root (HS_DATA_ROOT). */
      path: z.string().min(1),
      format: z.enum(['gguf', 'peft']),
      /** The base model's name on the endpoint (vLLM `base_model_name`); models sharing a base form one
       * weight swarm. */
      base: z.string().min(1),
      /** How new adapter versions reach the endpoint: `load_lora_adapter` = vLLM's and `hs llm serve`'s
       * `POST /v1/load_lora_adapter` (vLLM needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True); `none` = the endpoint
       * cannot hot-load adapters, so the model cannot take part in the weight step. */
      hotLoad: z.enum(['load_lora_adapter', 'none']).default('load_lora_adapter'),
    })
    .optional(),
});
export type ModelSpec = z.infer<typeof ModelSpecSchema>;
/** A model as written in a config file (defaults optional). */
export type ModelSpecInput = z.input<typeof ModelSpecSchema>;

export const TaskSpecSchema = z.strictObject({
  /** Data file; relative paths are resolved against the worker's data root (HS_DATA_ROOT, default cwd). */
  path: z.string().min(1),
  /** `paper-json`: {"dev": [...], "test": [...]}; `jsonl`: one item per line; `auto`: by file extension. */
  format: z.enum(['auto', 'paper-json', 'jsonl']).default('auto'),
  type: z.enum(['multiple_choice', 'exact_match']),
  /** `strict` parses the final answer properly (default); `paper` reproduces evaluate.py's parsers. */
  scoring: z.enum(['strict', 'paper']).default('strict'),
  /** Use only the first n dev / test items. */
  devLimit: z.int().positive().optional(),
  testLimit: z.int().positive().optional(),
  /** JSONL lines without a "split" field: this leading fraction is dev, the rest test. */
  devFraction: z.number().gt(0).lt(1).default(0.5),
  /** Multiple choice: line before "Question:"; the paper's text by default. */
  instruction: z.string().max(10_000).default('Please choose an option that best answers the question.'),
  /** Appended to the question, e.g. gsm8k: " Please end your response with 'The answer is'." */
  promptSuffix: z.string().max(10_000).default(''),
  /** `paper` exact match: keep only the last k space-separated tokens of the answer (gsm8k: 5). */
  lastTokens: z.int().positive().optional(),
});
export type TaskSpec = z.infer<typeof TaskSpecSchema>;

/** Ranges of the PSO hyper-parameters, without defaults (also the live `configure` patch's; core/control.ts). */
export const psoBounds = {
  inertia: z.number().min(0).max(10),
  cognitive: z.number().min(0).max(10),
  social: z.number().min(0).max(10),
  repel: z.number().min(0).max(10),
  repelEnabled: z.boolean(),
  stepLength: z.number().gt(0).max(10),
  weightRandomness: z.boolean(),
  restartEnabled: z.boolean(),
  restartPatience: z.number().gt(0).max(10),
  stepLengthFactor: z.number().gt(0).max(1),
  minimumStepLength: z.number().min(0).max(10),
};

/** PSO hyper-parameters (paper-notes §5.2); the same set drives both swarms unless `weightStep.pso` is given. */
const psoFields = {
  /** φ_v, `--inertia` (grid {0.1, 0.2, 0.3}). */
  inertia: psoBounds.inertia.default(0.2),
  /** φ_p, `--cognitive_coeff` (grid {0.1 … 0.5}). */
  cognitive: psoBounds.cognitive.default(0.3),
  /** φ_g, `--social_coeff` (grid {0.2 … 0.6}). */
  social: psoBounds.social.default(0.4),
  /** φ_w, `--repel_coeff` (grid {0.01, 0.05, 0.1}). */
  repel: psoBounds.repel.default(0.05),
  /** `--repel_term` (on in nlgraph.sh, off in argparse). */
  repelEnabled: psoBounds.repelEnabled.default(true),
  /** λ, `--step_length` (grid {0.5 … 1.0}). */
  stepLength: psoBounds.stepLength.default(0.8),
  /** `--weight_randomness`: scalar r-factors U(0,1) per particle per step. */
  weightRandomness: psoBounds.weightRandomness.default(true),
  /** `--restart_stray_particles` (on in nlgraph.sh). */
  restartEnabled: psoBounds.restartEnabled.default(true),
  /** `--restart_patience` (0.67 in nlgraph.sh). */
  restartPatience: psoBounds.restartPatience.default(0.67),
  /** Step-length decay λ ← max(λ·factor, minimum) per iteration; 1 = off, as the official code (§10.4). */
  stepLengthFactor: psoBounds.stepLengthFactor.default(1),
  minimumStepLength: psoBounds.minimumStepLength.default(0.1),
};
export const PsoSettingsSchema = z.strictObject(psoFields);
export type PsoSettings = z.infer<typeof PsoSettingsSchema>;

export const RoleStepSchema = z.strictObject({
  /** G, `--graph_num`: graph particles. */
  particles: z.int().min(2).max(256).default(10),
  ...psoFields,
});
export type RoleStepSettings = z.infer<typeof RoleStepSchema>;

export const WeightStepSchema = z.strictObject({
  /** Run a weight step after every role step (paper-notes §1.2) when some model has an `adapter`. */
  enabled: z.boolean().default(true),
  /** M, `trial_num`: random model-to-slot assignments per JFK-score (§6). */
  assignments: z.int().min(1).max(1000).default(10),
  /** PSO hyper-parameters of the model swarm; absent = the role step's (as the official code). */
  pso: PsoSettingsSchema.optional(),
});
export type WeightStepSettings = z.infer<typeof WeightStepSchema>;

export const EvaluationSchema = z.strictObject({
  /** Fail an evaluation (`EvaluationDegenerate`) when more than this fraction of items is unparsable. */
  maxUnparsableFraction: z.number().min(0).max(1).default(0.9),
  /** Items whose model call is rejected as a bad request (400/422) are counted as errors; beyond this
   * fraction the evaluation fails. 0 (default): any such error fails it — nothing is silently scored 0. */
  maxErrorFraction: z.number().min(0).max(1).default(0),
  /** Per model call. */
  requestTimeoutSeconds: z.number().positive().max(3600).default(120),
  /** Evaluation activities heartbeat; a dead worker is noticed after this long. */
  heartbeatTimeoutSeconds: z.number().min(1).max(3600).default(30),
});

export const SearchConfigSchema = z
  .strictObject({
    /** Editors' JSON Schema hint (schema/search-config.schema.json); ignored. */
    $schema: z.string().optional(),
    /** Study name; the workflow id is `hs/<study>`. */
    study: identifier,
    /** The pool of LLMs: graph node (slot) k runs model k in the role step. */
    models: z.array(ModelSpecSchema).min(1).max(64),
    task: TaskSpecSchema,
    roleStep: RoleStepSchema.prefault({}),
    weightStep: WeightStepSchema.prefault({}),
    /** `-m/--max_iteration` (paper text: 20). */
    maxIterations: z.int().min(0).max(100_000).default(20),
    /** `-p/--patience`: stop when the graph global best is unchanged over the last `patience` entries. */
    patience: z.int().min(1).max(100_000).default(6),
    decode: z
      .strictObject({
        /** 0 = greedy G-Decode (released code); the paper text uses top-p 0.8. */
        topP: z.number().min(0).max(1).default(0),
      })
      .prefault({}),
    generation: z
      .strictObject({
        /** Per node; default by task type (§3.2): multiple choice 50, exact match 100. */
        maxTokens: z.int().min(1).max(32_768).optional(),
        temperature: z.number().min(0).max(2).default(0),
        /** Replace newlines of node outputs by spaces, as the official code does. */
        newlineToSpace: z.boolean().default(true),
      })
      .prefault({}),
    /** Default max concurrent requests per endpoint. */
    concurrency: z.int().min(1).max(256).default(4),
    seed: z.int().min(0).max(2 ** 32 - 1).default(42),
    /** Continue-as-new after this many iterations (also whenever Temporal suggests it). */
    continueAsNewEvery: z.int().min(1).max(10_000).default(10),
    evaluation: EvaluationSchema.prefault({}),
    /** Hard limits on calls, tokens, money and time, checked before every iteration (core/budget.ts). */
    budget: BudgetSchema.prefault({}),
    /** Baselines run on the initial models before the search (core/baselines.ts); `[]` runs none. */
    baselines: BaselineKindsSchema.default([...BASELINE_KINDS]),
  })
  .superRefine((config, ctx) => {
    // C = w_v + w_p + w_g + w_w must be able to be > 0 (pso.ts psoWeights divides by it).
    const psoBlocks: [string[], PsoSettings][] = [[['roleStep'], config.roleStep]];
    if (config.weightStep.pso) psoBlocks.push([['weightStep', 'pso'], config.weightStep.pso]);
    for (const [path, pso] of psoBlocks) {
      if (pso.inertia + pso.cognitive + pso.social + (pso.repelEnabled ? pso.repel : 0) <= 0) {
        ctx.addIssue({ code: 'custom', path, message: 'inertia + cognitive + social (+ repel when repelEnabled) must be > 0: the PSO update divides by their sum' });
      }
    }
    // The graph swarm travels in workflow payloads: it must fit the payload budget (core/payload.ts).
    const swarmBytes = estimatedSwarmBytes(config.models.length, config.roleStep.particles);
    if (swarmBytes > PAYLOAD_BUDGET_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['roleStep', 'particles'],
        message: `${config.roleStep.particles} graph particles over ${config.models.length} models make a swarm of ~${Math.round(swarmBytes / 1024)} KiB, above the ${PAYLOAD_BUDGET_BYTES / 1024} KiB workflow payload budget; use fewer particles or models (the swarm holds 3 N×N matrices per particle)`,
      });
    }
    const formats = new Map<string, { format: string; index: number }>();
    const seen = new Map<string, number>();
    config.models.forEach((m, i) => {
      const first = seen.get(m.id);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['models', i, 'id'], message: `duplicate model id "${m.id}" (also models[${first}])` });
      }
      seen.set(m.id, i);
      if (m.adapter !== undefined) {
        const first = formats.get(m.adapter.base);
        if (first !== undefined && first.format !== m.adapter.format) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', i, 'adapter', 'format'],
            message: `models sharing the base "${m.adapter.base}" form one weight swarm and must share an adapter format (models[${first.index}] is "${first.format}")`,
          });
        }
        if (first === undefined) formats.set(m.adapter.base, { format: m.adapter.format, index: i });
      }
      if (config.weightStep.enabled && m.adapter?.hotLoad === 'none') {
        ctx.addIssue({
          code: 'custom',
          path: ['models', i, 'adapter', 'hotLoad'],
          message:
            'this endpoint cannot hot-load adapters, but the weight step publishes a new adapter version every iteration; serve the model with vLLM (VLLM_ALLOW_RUNTIME_LORA_UPDATING=True) or `hs llm serve`, remove "adapter" to keep the model fixed, or set weightStep.enabled to false',
        });
      }
    });
  });

/** Input as written by the user (defaults optional). */
export type SearchConfigInput = z.input<typeof SearchConfigSchema>;
/** Fully defaulted config. */
export type SearchConfig = z.output<typeof SearchConfigSchema>;

export interface ConfigProblem {
  path: string;
  message: string;
}

/** "models[1].baseURL" style path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

function unknownKeyMessage(key: string): string {
  if (/^api[_-]?key$/i.test(key)) {
    return 'unknown key: API keys never go in a config — put the key in the worker\'s environment and name that variable in "apiKeyEnv"';
  }
  return 'unknown key (check the spelling; see schema/search-config.schema.json)';
}

/** One problem per issue; an unknown key is reported at its own path ("roleStep.inertai: unknown key"). */
export function problemsOf(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: unknownKeyMessage(key) }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  );
}

export type ParseResult = { ok: true; config: SearchConfig } | { ok: false; problems: ConfigProblem[] };

/** Clearer than zod's defaults for a missing field and for a number JSON cannot hold (1e400 reads as Infinity). */
const parseErrorMap = (issue: z.core.$ZodRawIssue): string | undefined => {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return `required: expected ${issue.expected}, but the field is missing`;
  if (typeof issue.input === 'number' && !Number.isFinite(issue.input)) {
    return `must be a finite number, got ${String(issue.input)} (a JSON number too large to represent, such as 1e400, reads as Infinity)`;
  }
  return undefined;
};

export function parseSearchConfig(input: unknown): ParseResult {
  const result = SearchConfigSchema.safeParse(input, { error: parseErrorMap });
  return result.success ? { ok: true, config: result.data } : { ok: false, problems: problemsOf(result.error) };
}

/** True when the study runs weight steps: enabled and some model has an adapter. */
export function weightStepActive(config: SearchConfig): boolean {
  return config.weightStep.enabled && config.models.some((m) => m.adapter !== undefined);
}

/** Max new tokens per node (§3.2) when the config does not set it. */
export function maxTokensFor(config: SearchConfig): number {
  return config.generation.maxTokens ?? (config.task.type === 'multiple_choice' ? 50 : 100);
}

/** JSON Schema of the config file (draft 2020-12). */
export function searchConfigJsonSchema(): unknown {
  return z.toJSONSchema(SearchConfigSchema, { io: 'input', unrepresentable: 'any' });
}
