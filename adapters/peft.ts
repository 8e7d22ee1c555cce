/**
 * PEFT LoRA adapter directories, as written by Hugging Face PEFT (`save_pretrained`) and loaded by vLLM:
 *
 *   adapter_config.json        {"peft_type": "LORA", "base_model_name_or_path": ..., "r": 8, "lora_alpha": 16,
 *                               "target_modules": [...], ...many more keys, kept verbatim}
 *   adapter_model.safetensors  per adapted module `<module>.lora_A.weight` [r, n_in] and
 *                              `<module>.lora_B.weight` [n_out, r] (embedding layers: `<module>.lora_embedding_A` /
 *                              `<module>.lora_embedding_B`, same shapes); the update is B·A scaled by lora_alpha / r.
 *
 * The config is parsed only for the keys we use; every other key is kept, and the original text is handed back so
 * an adapter written "like" another can reuse it byte for byte.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { TensorInfo, TensorLayout } from './tensor-file';

/** The files of a PEFT adapter directory. */
export const peftDirectoryFiles = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' } as const;

/** The parts of adapter_config.json we use; all other keys pass through untouched. */
export const PeftLoraConfigSchema = z.looseObject({
  peft_type: z.literal('LORA', { error: (issue) => `must be "LORA" (got ${JSON.stringify(issue.input)}): only LoRA adapters are supported` }),
  base_model_name_or_path: z.string().nullable(),
  r: z.int().min(1),
  lora_alpha: z.number(),
  target_modules: z.union([z.array(z.string()), z.string()], { error: 'must be a list of module names or a string (a regex or "all-linear")' }),
});
export type PeftLoraConfig = z.infer<typeof PeftLoraConfigSchema>;

/** A PEFT adapter directory, read and checked. */
export interface PeftAdapter {
  config: PeftLoraConfig;
  /** adapter_config.json exactly as read. */
  configText: string;
  /** Absolute path of adapter_model.safetensors (exists; open it with `safetensorsFormat`). */
  weightsFile: string;
}

/** One adapted module: its A and B tensors. */
export interface LoraModule {
  /** The tensor names' common prefix, e.g. `base_model.model.model.layers.0.self_attn.q_proj`. */
  module: string;
  /** [r, nIn] */
  a: TensorInfo;
  /** [nOut, r] */
  b: TensorInfo;
  nIn: number;
  nOut: number;
}

/** A missing or malformed PEFT adapter. */
export class PeftAdapterError extends Error {
  override readonly name = 'PeftAdapterError';
}

/** Reads and checks `dir`'s adapter_config.json and that adapter_model.safetensors exists. */
export async function readPeftAdapter(dir: string): Promise<PeftAdapter> {
  const configFile = path.resolve(dir, peftDirectoryFiles.config);
  const weightsFile = path.resolve(dir, peftDirectoryFiles.weights);
  const expected = `a PEFT adapter directory holds ${peftDirectoryFiles.config} and ${peftDirectoryFiles.weights}`;

  let configText: string;
  try {
    configText = await readFile(configFile, 'utf8');
  } catch (error) {
    throw new PeftAdapterError(`${configFile}: cannot read (${describe(error)}); ${expected}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(configText);
  } catch (error) {
    throw new PeftAdapterError(`${configFile}: invalid JSON (${describe(error)})`);
  }
  const parsed = PeftLoraConfigSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const message = i.code === 'invalid_type' && i.input === undefined ? `missing (expected ${i.expected})` : i.message;
      return i.path.length === 0 ? message : `field "${i.path.map(String).join('.')}": ${message}`;
    });
    throw new PeftAdapterError(`${configFile}: ${problems.join('; ')}`);
  }

  try {
    if (!(await stat(weightsFile)).isFile()) throw new Error('not a regular file');
  } catch (error) {
    throw new PeftAdapterError(`${weightsFile}: cannot read (${describe(error)}); ${expected}`);
  }
  return { config: parsed.data, configText, weightsFile };
}

const LORA_TENSOR = /^(.+)\.(?:lora_(A|B)\.weight|lora_embedding_(A|B))$/;

/**
 * The adapter's modules (in order of first appearance), checking that its tensors are exactly pairs of LoRA A
 * [r, n_in] and B [n_out, r] with the config's rank `r`. `what` names the adapter in errors (e.g. its file).
 */
export function loraPairs(layout: TensorLayout, r: number, what: string): LoraModule[] {
  const fail = (why: string): PeftAdapterError => new PeftAdapterError(`${what}: ${why}`);
  const halves = new Map<string, { a?: TensorInfo; b?: TensorInfo }>();
  for (const tensor of layout.tensors) {
    const match = LORA_TENSOR.exec(tensor.name);
    if (match === null) throw fail(`unexpected tensor "${tensor.name}" (a LoRA adapter holds only <module>.lora_A.weight / <module>.lora_B.weight pairs)`);
    const module = match[1]!;
    const half = (match[2] ?? match[3]) === 'A' ? 'a' : 'b';
    const pair = halves.get(module) ?? {};
    if (pair[half] !== undefined) throw fail(`module "${module}" has two lora_${half.toUpperCase()} tensors ("${pair[half].name}", "${tensor.name}")`);
    pair[half] = tensor;
    halves.set(module, pair);
  }

  const rank = `r = ${r} (${peftDirectoryFiles.config} field "r")`;
  const modules: LoraModule[] = [];
  for (const [module, { a, b }] of halves) {
    if (a === undefined || b === undefined) throw fail(`module "${module}" has a lora_${a === undefined ? 'B' : 'A'} tensor but no lora_${a === undefined ? 'A' : 'B'}`);
    const [aRank, nIn] = a.shape;
    const [nOut, bRank] = b.shape;
    if (a.shape.length !== 2 || aRank !== r) throw fail(`"${a.name}" has shape [${a.shape.join(', ')}], expected [r, n_in] with ${rank}`);
    if (b.shape.length !== 2 || bRank !== r) throw fail(`"${b.name}" has shape [${b.shape.join(', ')}], expected [n_out, r] with ${rank}`);
    modules.push({ module, a, b, nIn: nIn!, nOut: nOut! });
  }
  if (modules.length === 0) throw fail('no LoRA tensors');
  return modules;
}

function describe(error: unknown): string {
  if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') return 'missing';
  return error instanceof Error ? error.message : String(error);
}
