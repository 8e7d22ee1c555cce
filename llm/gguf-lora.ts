/**
 * LoRA adapters as the GGUF files llama.cpp loads (`llama_adapter_lora_init`; written by llama.cpp's
 * `convert_lora_to_gguf.py`):
 *
 * - metadata `general.architecture` = the base's architecture (must match the base), `general.type` =
 *   "adapter", `adapter.type` = "lora", `adapter.lora.alpha` (float32);
 * - for each adapted base weight `W` named `<name>` (e.g. `blk.3.attn_q.weight`) with GGUF dims
 *   `[n_in, n_out]`, two F32 tensors `<name>.lora_a` with dims `[n_in, r]` and `<name>.lora_b` with dims
 *   `[r, n_out]`. llama.cpp checks `W.ne[0] == a.ne[0]`, `W.ne[1] == b.ne[1]`, `a.ne[1] == b.ne[0]`, computes
 *   `W·x + s·B·(A·x)` with `s = adapter_scale · alpha / r` (r = `b.ne[0]`; `s = adapter_scale` when alpha is 0).
 *
 * In row-major (PEFT / numpy) terms `a` is `lora_A.weight` of shape `(r, n_in)` — element (k, j) at
 * `k·n_in + j` — and `b` is `lora_B.weight` of shape `(n_out, r)` — element (o, k) at `o·r + k`.
 */
import {
  GGML_TYPE_F32,
  GgufError,
  metaNumber,
  metaString,
  readGgufInfo,
  readTensorF32,
  writeGguf,
  type GgufMetadata,
  type GgufTensorInfo,
  type GgufTensorToWrite,
} from './gguf';

/** The projections of a llama-style block that LoRA usually adapts (GGUF names). */
export const DEFAULT_LORA_MODULES = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] as const;

/** One base weight an adapter may target. */
export interface LoraTarget {
  /** Base tensor name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  block: number;
  module: string;
  /** `ne[0]` of the base weight: the input width. */
  nIn: number;
  /** `ne[1]` of the base weight: the output width. */
  nOut: number;
}

export interface BaseLoraTargets {
  architecture: string;
  blockCount: number;
  /** Ordered by block, then by the order of the requested modules. */
  targets: LoraTarget[];
}

/** The A/B pair for one base weight. Dims are GGUF order: `aDims = [n_in, r]`, `bDims = [r, n_out]`. */
export interface LoraTensorPair {
  name: string;
  a: Float32Array;
  b: Float32Array;
  aDims: [number, number];
  bDims: [number, number];
}

export interface LoraAdapter {
  architecture: string;
  /**
   * llama.cpp scales B·A by alpha / rank (alpha 0 or absent: by 1). Stored as float32: a value that is not
   * exactly a float32 reads back rounded.
   */
  alpha: number;
  rank: number;
  tensors: LoraTensorPair[];
}

const BLOCK_WEIGHT = /^blk\.(\d+)\.([A-Za-z0-9_]+)\.weight$/;

/** Reads the base model's architecture, block count and the 2-D weights of `modules` in every block. */
export async function readBaseLoraTargets(basePath: string, modules: readonly string[] = DEFAULT_LORA_MODULES): Promise<BaseLoraTargets> {
  const info = await readGgufInfo(basePath);
  const architecture = metaString(info.metadata, 'general.architecture');
  if (architecture === undefined) throw new GgufError(`${basePath}: no general.architecture`);
  const wanted = new Map(modules.map((m, i) => [m, i]));
  const targets: LoraTarget[] = [];
  let blockCount = metaNumber(info.metadata, `${architecture}.block_count`) ?? 0;
  for (const t of info.tensors) {
    const match = BLOCK_WEIGHT.exec(t.name);
    if (match === null) continue;
    const block = Number(match[1]);
    const module = match[2] ?? '';
    blockCount = Math.max(blockCount, block + 1);
    if (!wanted.has(module)) continue;
    const [nIn, nOut] = t.dims;
    if (t.dims.length !== 2 || nIn === undefined || nOut === undefined) {
      throw new GgufError(`${basePath}: ${t.name} has dims [${t.dims.join(', ')}], expected a 2-D weight`);
    }
    targets.push({ name: t.name, block, module, nIn, nOut });
  }
  const missing = modules.filter((m) => !targets.some((t) => t.module === m));
  if (missing.length > 0) throw new GgufError(`${basePath}: no blk.N.<module>.weight for module(s) ${missing.join(', ')}`);
  targets.sort((x, y) => x.block - y.block || (wanted.get(x.module) ?? 0) - (wanted.get(y.module) ?? 0));
  return { architecture, blockCount, targets };
}

function checkPair(p: LoraTensorPair, rank: number): void {
  const [nIn, ra] = p.aDims;
  const [rb, nOut] = p.bDims;
  if (!p.name.endsWith('.weight')) throw new GgufError(`LoRA target "${p.name}" must be a base weight name ending in .weight`);
  if (ra !== rank || rb !== rank) {
    throw new GgufError(`${p.name}: aDims [${p.aDims.join(', ')}] and bDims [${p.bDims.join(', ')}] must have rank ${rank} (aDims = [n_in, r], bDims = [r, n_out])`);
  }
  if (p.a.length !== nIn * rank || p.b.length !== rank * nOut) throw new GgufError(`${p.name}: data lengths do not match the dims`);
}

/** The GGUF metadata of a LoRA adapter, as `convert_lora_to_gguf.py` writes it (file type: all F32). */
function loraMetadata(architecture: string, alpha: number): GgufMetadata {
  return new Map([
    ['general.architecture', { type: 'string', value: architecture }],
    ['general.type', { type: 'string', value: 'adapter' }],
    ['general.file_type', { type: 'uint32', value: 0 }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    ['adapter.lora.alpha', { type: 'float32', value: alpha }],
  ]);
}

/** Writes a LoRA adapter GGUF atomically and returns its sha256 (hex). Same input ⇒ same bytes. */
export async function writeLoraAdapter(filePath: string, adapter: LoraAdapter): Promise<string> {
  if (!Number.isInteger(adapter.rank) || adapter.rank < 1) throw new GgufError(`rank must be a positive integer, got ${adapter.rank}`);
  if (!Number.isFinite(adapter.alpha)) throw new GgufError(`alpha must be finite, got ${adapter.alpha}`);
  const tensors: GgufTensorToWrite[] = [];
  for (const p of adapter.tensors) {
    checkPair(p, adapter.rank);
    tensors.push({ name: `${p.name}.lora_a`, dims: p.aDims, data: p.a }, { name: `${p.name}.lora_b`, dims: p.bDims, data: p.b });
  }
  const { sha256 } = await writeGguf(filePath, loraMetadata(adapter.architecture, adapter.alpha), tensors);
  return sha256;
}

function dims2(t: GgufTensorInfo): [number, number] {
  const [d0, d1] = t.dims;
  if (t.dims.length !== 2 || d0 === undefined || d1 === undefined) throw new GgufError(`${t.name}: expected 2 dims, got [${t.dims.join(', ')}]`);
  return [d0, d1];
}

/** Reads a LoRA adapter GGUF (F32, one rank for all tensors) back into the structure `writeLoraAdapter` takes. */
export async function readLoraAdapter(filePath: string): Promise<LoraAdapter> {
  const info = await readGgufInfo(filePath);
  const generalType = metaString(info.metadata, 'general.type');
  const adapterType = metaString(info.metadata, 'adapter.type');
  if (generalType !== 'adapter' || adapterType !== 'lora') {
    throw new GgufError(`${filePath}: not a LoRA adapter (general.type ${generalType ?? '-'}, adapter.type ${adapterType ?? '-'})`);
  }
  const architecture = metaString(info.metadata, 'general.architecture');
  if (architecture === undefined) throw new GgufError(`${filePath}: no general.architecture`);
  const alpha = metaNumber(info.metadata, 'adapter.lora.alpha') ?? 0;

  const byName = new Map(info.tensors.map((t) => [t.name, t]));
  const tensors: LoraTensorPair[] = [];
  let rank: number | undefined;
  for (const ta of info.tensors) {
    if (!ta.name.endsWith('.lora_a')) {
      if (!ta.name.endsWith('.lora_b')) throw new GgufError(`${filePath}: unexpected tensor "${ta.name}"`);
      continue;
    }
    const name = ta.name.slice(0, -'.lora_a'.length);
    const tb = byName.get(`${name}.lora_b`);
    if (tb === undefined) throw new GgufError(`${filePath}: ${ta.name} has no .lora_b`);
    if (ta.type !== GGML_TYPE_F32 || tb.type !== GGML_TYPE_F32) throw new GgufError(`${filePath}: ${name} is not F32`);
    const aDims = dims2(ta);
    const bDims = dims2(tb);
    rank ??= bDims[0];
    const pair = { name, a: await readTensorF32(filePath, info, ta), b: await readTensorF32(filePath, info, tb), aDims, bDims };
    checkPair(pair, rank);
    tensors.push(pair);
  }
  if (tensors.length * 2 !== info.tensors.length) throw new GgufError(`${filePath}: some .lora_b tensors have no .lora_a`);
  if (rank === undefined) throw new GgufError(`${filePath}: no LoRA tensors`);
  return { architecture, alpha, rank, tensors };
}
