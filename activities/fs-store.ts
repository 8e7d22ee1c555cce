/**
 * File-system primitives shared by the on-disk stores: atomic writes (unique temp file in the target
 * directory, then rename — safe with several processes on one host or a shared volume) and the mapping of
 * "the store cannot be used right now" errors to a retryable `StoreUnavailable` failure.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailureType } from '../workflows/core/errors';

/** errno codes meaning the store is (temporarily) unusable: full, read-only, no permission, I/O error. */
const UNAVAILABLE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'ESTALE']);

/** The errno code of a Node.js system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = error.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A retryable `ApplicationFailure` with type `StoreUnavailable` (design.md §5): Temporal retries the
 * activity; the message names the operation, the path and the errno code.
 */
export function storeUnavailable(operation: string, file: string, cause: unknown): ApplicationFailure {
  const code = errnoCode(cause) ?? 'unknown';
  const detail = cause instanceof Error ? cause.message : String(cause);
  return ApplicationFailure.create({
    type: FailureType.StoreUnavailable,
    message: `store unavailable: cannot ${operation} ${file} (${code}): ${detail}`,
    nonRetryable: false,
    cause: cause instanceof Error ? cause : undefined,
  });
}

/** True for errno codes that mean the store is unusable (see `storeUnavailable`). */
export function isUnavailableCode(error: unknown): boolean {
  const code = errnoCode(error);
  return code !== undefined && UNAVAILABLE_CODES.has(code);
}

/**
 * Writes `data` to `file` atomically: readers see the old content, nothing, or the whole new content, never
 * a partial file. Creates the parent directory. Unusable-store errors become `StoreUnavailable`.
 * `exclusive`: never replace an existing file — the complete temp file is hard-linked into place, which fails
 * atomically when `file` exists (then nothing is written and the result is false), so of concurrent writers
 * across processes exactly one wins.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: { fsync?: boolean; exclusive?: boolean } = {}): Promise<boolean> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomUUID()}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(data);
      if (options.fsync === true) await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive !== true) {
      await fs.rename(temp, file);
      return true;
    }
    try {
      await fs.link(temp, file);
      return true;
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') return false;
      throw error;
    } finally {
      await fs.rm(temp, { force: true });
    }
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    if (isUnavailableCode(error)) throw storeUnavailable('write', file, error);
    throw error;
  }
}

/** Bytes `assertWritable` writes: one page, so a full file system refuses it even when a new empty file would fit. */
const PROBE_BYTES = 4096;

/**
 * Throws `StoreUnavailable` unless `dir` can take a write now: writes and removes a one-page probe
 * file. Cheap; called before paying for work whose result must be stored (a full disk then costs retries,
 * not model calls).
 */
export async function assertWritable(dir: string): Promise<void> {
  const probe = path.join(dir, `.probe.${process.pid}.${randomUUID()}`);
  try {
    await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(probe, 'wx');
    try {
      await handle.write(new Uint8Array(PROBE_BYTES));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isUnavailableCode(error)) throw storeUnavailable('write', dir, error);
    throw error;
  } finally {
    await fs.rm(probe, { force: true }).catch(() => undefined);
  }
}

/** Reads a file; `undefined` when it does not exist. Unusable-store errors become `StoreUnavailable`. */
export async function readFileIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (isUnavailableCode(error)) throw storeUnavailable('read', file, error);
    throw error;
  }
}

/** sha256 hex of a file's bytes, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Resolves a config path against the data root: absolute paths as given; relative ones only if they stay inside
 * the root (`undefined` when `..` segments lead out of it).
 */
export function resolveInDataRoot(dataRoot: string, configPath: string): string | undefined {
  const file = path.resolve(dataRoot, configPath);
  if (path.isAbsolute(configPath)) return file;
  const inside = path.relative(path.resolve(dataRoot), file);
  return inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside) ? undefined : file;
}
