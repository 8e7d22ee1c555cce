/**
 * Seeded random low-rank adapters: distinct "experts" for a base model without any training.
 *
 * Standard LoRA initialisation (A random, B = 0) leaves the model unchanged; we want experts that behave
 * differently, so both factors are drawn from N(0, σ²). `scale` is the target root-mean-square of the entries
 * of the effective update ΔW = (alpha / r)·B·A that llama.cpp adds to each weight: with A, B ~ N(0, σ²),
 * E[ΔW²] = (alpha / r)² · r · σ⁴, so σ = sqrt(scale · √r / alpha), whatever the rank. For comparison, the
 * attention and MLP weights of SmolLM2-135M (Q4_1, dequantised) have an RMS of about 0.19 (0.05–0.4 per tensor),
 * so the default 0.01 perturbs every projection by roughly 5 %. Measured on that model (rank 8, greedy): 0.005
 * changes a few tokens, 0.01 gives different but fluent answers, 0.02 starts to repeat itself, 0.04 is gibberish.
 *
 * Every tensor draws from its own stream `deriveRng(seed, 'lora', <tensor name>)`, so the bytes depend only on
 * (seed, rank, alpha, scale, base shapes): same arguments ⇒ byte-identical file and sha256.
 */
import { deriveRng, type Rng } from '../workflows/core/rng';
import { DEFAULT_LORA_MODULES, readBaseLoraTargets, writeLoraAdapter, type LoraAdapter, type LoraTarget } from './gguf-lora';

/** Default RMS of the effective weight update: visibly different greedy outputs, still fluent text. */
export const DEFAULT_RANDOM_LORA_SCALE = 0.01;

export interface RandomLoraOptions {
  rank: number;
  /** LoRA alpha; defaults to the rank (llama.cpp then applies B·A unscaled). */
  alpha?: number;
  seed: number;
  /** Base modules to adapt (GGUF names); default `DEFAULT_LORA_MODULES`. */
  modules?: readonly string[];
  /** Target RMS of ΔW entries; default `DEFAULT_RANDOM_LORA_SCALE`. */
  scale?: number;
}

export interface RandomLoraResult {
  sha256: string;
  rank: number;
  alpha: number;
  scale: number;
  tensorPairs: number;
}

/** `n` draws from N(0, sigma²) as float32 (Box–Muller over the seeded uniform stream). */
function gaussian(rng: Rng, n: number, sigma: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rng.next(); // (0, 1]: log(u) is finite
    const v = rng.next();
    const radius = sigma * Math.sqrt(-2 * Math.log(u));
    out[i] = radius * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Builds (in memory) a random adapter for `targets`. */
export function randomLoraAdapter(
  architecture: string,
  targets: readonly LoraTarget[],
  options: { rank: number; alpha: number; seed: number; scale: number },
): LoraAdapter {
  const { rank, alpha, seed, scale } = options;
  if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`rank must be a positive integer, got ${rank}`);
  if (!(alpha > 0) || !(scale >= 0)) throw new RangeError(`alpha must be > 0 and scale >= 0 (got ${alpha}, ${scale})`);
  const sigma = Math.sqrt((scale * Math.sqrt(rank)) / alpha);
  return {
    architecture,
    alpha,
    rank,
    tensors: targets.map((t) => ({
      name: t.name,
      a: gaussian(deriveRng(seed, 'lora', t.name, 'a'), t.nIn * rank, sigma),
      b: gaussian(deriveRng(seed, 'lora', t.name, 'b'), rank * t.nOut, sigma),
      aDims: [t.nIn, rank],
      bDims: [rank, t.nOut],
    })),
  };
}

/** Writes a seeded random LoRA adapter for the base GGUF at `basePath` to `outPath`. */
export async function createRandomLora(basePath: string, outPath: string, options: RandomLoraOptions): Promise<RandomLoraResult> {
  const { architecture, targets } = await readBaseLoraTargets(basePath, options.modules ?? DEFAULT_LORA_MODULES);
  const alpha = options.alpha ?? options.rank;
  const scale = options.scale ?? DEFAULT_RANDOM_LORA_SCALE;
  const adapter = randomLoraAdapter(architecture, targets, { rank: options.rank, alpha, seed: options.seed, scale });
  const sha256 = await writeLoraAdapter(outPath, adapter);
  return { sha256, rank: options.rank, alpha, scale, tensorPairs: adapter.tensors.length };
}
