/**
 * `pool.json`: the expert pool of the embedded model — a base GGUF and K LoRA adapters, each with the recipe
 * that made it (so `hs pool init` can tell whether a file on disk is already what it would write) and its
 * sha256 (which models' `adapterSha256` carries into the call-cache key).
 *
 * Paths are relative to the directory of `pool.json` (absolute paths are kept as they are): a pool moves with
 * its directory. `loadPool` resolves them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

/** Bumped whenever the random-adapter generator would produce different bytes for the same recipe. */
export const RANDOM_LORA_GENERATOR = 'hs-random-lora/1';

export const PoolExpertSchema = z.strictObject({
  /** Model name of the expert, e.g. `smollm2-expert-0`. */
  name: z.string().min(1),
  path: z.string().min(1),
  sha256: Sha256,
  rank: z.int().min(1),
  alpha: z.number().positive(),
  /** Seed of the expert's own random streams (derived from the pool seed and the expert index). */
  seed: z.int().min(0).max(0xffffffff),
  /** RMS of the effective weight update (see `gguf-lora-random.ts`). */
  scale: z.number().min(0),
  /** Adapted base modules (GGUF names, e.g. `attn_q`). */
  modules: z.array(z.string().min(1)).min(1),
});
export type PoolExpert = z.infer<typeof PoolExpertSchema>;

export const PoolManifestSchema = z.strictObject({
  version: z.literal(1),
  name: z.string().min(1),
  /** Pool seed the experts' seeds derive from. */
  seed: z.int().min(0).max(0xffffffff),
  generator: z.string().min(1),
  base: z.strictObject({ path: z.string().min(1), sha256: Sha256 }),
  experts: z.array(PoolExpertSchema).min(1),
});
export type PoolManifest = z.infer<typeof PoolManifestSchema>;

/** Reads and validates a `pool.json`; with `resolvePaths`, base and expert paths become absolute. */
export async function loadPool(manifestPath: string, options: { resolvePaths?: boolean } = {}): Promise<PoolManifest> {
  const text = await readFile(manifestPath, 'utf8');
  const parsed = PoolManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`${manifestPath} is not a valid pool manifest:\n${problems}`);
  }
  if (options.resolvePaths !== true) return parsed.data;
  const dir = path.dirname(path.resolve(manifestPath));
  const m = parsed.data;
  return {
    ...m,
    base: { ...m.base, path: path.resolve(dir, m.base.path) },
    experts: m.experts.map((e) => ({ ...e, path: path.resolve(dir, e.path) })),
  };
}
