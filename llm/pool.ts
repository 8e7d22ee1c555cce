/**
 * Creates the expert pool of the embedded model: K distinct seeded random LoRA adapters of one base GGUF
 * (`expert-<i>.gguf`) and their `pool.json` (schema: `pool-schema.ts`).
 *
 * Idempotent: an expert whose recipe (base sha256, generator, rank, alpha, seed, scale, modules) is unchanged
 * in the existing `pool.json` and whose file still has the recorded sha256 is left alone; anything else is
 * regenerated (same recipe ⇒ same bytes). `pool.json` is rewritten only when its content changes. All writes
 * are atomic. Files of experts beyond a smaller K are left in place, but are no longer listed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deriveRng } from '../workflows/core/rng';
import { sha256File } from './adapter-file';
import { DEFAULT_LORA_MODULES, readBaseLoraTargets, writeLoraAdapter } from './gguf-lora';
import { DEFAULT_RANDOM_LORA_SCALE, randomLoraAdapter } from './gguf-lora-random';
import { loadPool, PoolManifestSchema, RANDOM_LORA_GENERATOR, type PoolExpert, type PoolManifest } from './pool-schema';

export interface PoolInitOptions {
  /** Base model GGUF. */
  basePath: string;
  /** Directory of the experts and `pool.json`. */
  outDir: string;
  /** Pool name; experts are named `<name>-expert-<i>`. */
  name: string;
  experts: number;
  rank: number;
  seed: number;
  /** Default: the rank. */
  alpha?: number;
  /** Default: `DEFAULT_RANDOM_LORA_SCALE`. */
  scale?: number;
  modules?: readonly string[];
}

export interface PoolInitResult {
  manifestPath: string;
  manifest: PoolManifest;
  /** Expert files (absolute paths) written by this call. */
  written: string[];
  /** Expert files already up to date. */
  unchanged: string[];
  manifestWritten: boolean;
}

/** Name of the manifest inside a pool directory. */
export const POOL_MANIFEST = 'pool.json';

/** Hex sha256 of a file, streamed. */
/** The seed of expert `index` in a pool seeded with `poolSeed`: independent streams for every (pool, expert). */
export function expertSeed(poolSeed: number, index: number): number {
  return deriveRng(poolSeed, 'pool-expert', index).int(0x80000000);
}

async function hashIfExists(filePath: string): Promise<string | undefined> {
  try {
    return await sha256File(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function existingManifest(manifestPath: string): Promise<PoolManifest | undefined> {
  try {
    return await loadPool(manifestPath);
  } catch {
    return undefined; // absent or unreadable: everything is regenerated and the manifest rewritten
  }
}

function sameRecipe(a: PoolExpert, b: Omit<PoolExpert, 'sha256'>): boolean {
  return (
    a.name === b.name &&
    a.path === b.path &&
    a.rank === b.rank &&
    a.alpha === b.alpha &&
    a.seed === b.seed &&
    a.scale === b.scale &&
    a.modules.join(',') === b.modules.join(',')
  );
}

/** Writes `text` to `filePath` atomically unless the file already holds exactly that text. */
async function writeTextIfChanged(filePath: string, text: string): Promise<boolean> {
  const current = await readFile(filePath, 'utf8').catch(() => undefined);
  if (current === text) return false;
  const tmp = `${filePath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { flag: 'wx' });
    await rename(tmp, filePath);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return true;
}

function relativeTo(dir: string, file: string): string {
  return path.relative(dir, file).split(path.sep).join('/');
}

/** Creates or refreshes a pool of `experts` seeded random LoRA adapters of `basePath` in `outDir`. */
export async function initPool(options: PoolInitOptions): Promise<PoolInitResult> {
  const { experts, rank, seed, name } = options;
  if (!Number.isInteger(experts) || experts < 1) throw new RangeError(`experts must be a positive integer, got ${experts}`);
  const alpha = options.alpha ?? rank;
  const scale = options.scale ?? DEFAULT_RANDOM_LORA_SCALE;
  const modules = [...(options.modules ?? DEFAULT_LORA_MODULES)];
  const outDir = path.resolve(options.outDir);
  const basePath = path.resolve(options.basePath);
  const manifestPath = path.join(outDir, POOL_MANIFEST);
  await mkdir(outDir, { recursive: true });

  const baseSha256 = await sha256File(basePath);
  const previous = await existingManifest(manifestPath);
  const reusable = previous !== undefined && previous.base.sha256 === baseSha256 && previous.generator === RANDOM_LORA_GENERATOR;
  const { architecture, targets } = await readBaseLoraTargets(basePath, modules);

  const written: string[] = [];
  const unchanged: string[] = [];
  const entries: PoolExpert[] = [];
  for (let i = 0; i < experts; i++) {
    const file = path.join(outDir, `expert-${i}.gguf`);
    const recipe = { name: `${name}-expert-${i}`, path: relativeTo(outDir, file), rank, alpha, seed: expertSeed(seed, i), scale, modules };
    const prior = reusable ? previous.experts.find((e) => sameRecipe(e, recipe)) : undefined;
    if (prior !== undefined && (await hashIfExists(file)) === prior.sha256) {
      unchanged.push(file);
      entries.push(prior);
      continue;
    }
    const adapter = randomLoraAdapter(architecture, targets, { rank, alpha, seed: recipe.seed, scale });
    const sha256 = await writeLoraAdapter(file, adapter);
    written.push(file);
    entries.push({ ...recipe, sha256 });
  }

  // Parsing puts every object's keys in schema order, so the same pool always serialises to the same text.
  const manifest = PoolManifestSchema.parse({
    version: 1,
    name,
    seed,
    generator: RANDOM_LORA_GENERATOR,
    base: { path: relativeTo(outDir, basePath), sha256: baseSha256 },
    experts: entries,
  } satisfies PoolManifest);
  const manifestWritten = await writeTextIfChanged(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifestPath, manifest, written, unchanged, manifestWritten };
}
