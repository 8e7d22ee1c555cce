/**
 * Content-addressed blob store for everything too large for workflow history: JSON documents (transcripts,
 * adapter configs) and files (adapter weights). Keys are `sha256:<hex>` of the canonical JSON bytes or of the
 * file's bytes, so a put is idempotent and a key always names the same content.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { canonicalJson, sha256Hex } from './canonical-json';
import { errnoCode, isUnavailableCode, readFileIfExists, sha256File, storeUnavailable, writeFileAtomic } from './fs-store';

/** Store of immutable JSON documents addressed by content. */
export interface BlobStore {
  /** Stores a JSON-plain value; returns its key `sha256:<hex>` (of the canonical JSON). Idempotent. */
  putJson(value: unknown): Promise<string>;
  /** The value under `key`; throws if it is missing or its content does not match the key. */
  getJson(key: string): Promise<unknown>;
  /**
   * A fresh path in the store's scratch directory for a file about to be adopted (same file system as the
   * blobs, so `adoptFile` is an atomic rename). Files left there by a crash are garbage, never blobs.
   */
  scratchFile(suffix: string): Promise<string>;
  /** Moves a complete file whose content hashes to `sha256` into the store; returns its key. Idempotent. */
  adoptFile(file: string, sha256: string): Promise<string>;
  /** Copies a file into the store (e.g. an initial adapter); returns its key. */
  putFile(file: string): Promise<string>;
  /**
   * The local path of the file blob `key`, after checking (once per process) that its bytes hash to the key.
   * Throws `BlobNotFoundError` / `BlobCorruptError`.
   */
  filePath(key: string): Promise<string>;
}

const KEY = /^sha256:([0-9a-f]{64})$/;

/** Thrown by `getJson` when no blob is stored under the key. */
export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
}

/** Thrown by `getJson` when the stored bytes do not hash to the key (a damaged store). */
export class BlobCorruptError extends Error {
  override readonly name = 'BlobCorruptError';
}

function hexOf(key: string): string {
  const m = KEY.exec(key);
  if (!m) throw new RangeError(`blob key must look like "sha256:<64 hex>", got "${key}"`);
  return m[1]!;
}

/**
 * Blob store on a directory: `<dir>/sha256/<first two hex>/<hex>`, gzip-compressed, written atomically.
 * An existing blob is not rewritten.
 */
export function createFsBlobStore(dir: string): BlobStore {
  const fileOf = (hex: string): string => path.join(dir, 'sha256', hex.slice(0, 2), hex);
  const scratch = path.join(dir, 'scratch');
  /** Keys whose file this process has hashed already (blobs are immutable once renamed into place). */
  const verified = new Set<string>();
  const adopt = async (file: string, hex: string): Promise<string> => {
    const target = fileOf(hex);
    if (verified.has(hex) || (await fileHashIfExists(target)) === hex) {
      await fs.rm(file, { force: true });
    } else {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(file, target).catch((error: unknown) => {
        if (isUnavailableCode(error)) throw storeUnavailable('move into the blob store', target, error);
        throw error;
      });
    }
    verified.add(hex);
    return `sha256:${hex}`;
  };
  return {
    async scratchFile(suffix) {
      await fs.mkdir(scratch, { recursive: true }).catch((error: unknown) => {
        if (isUnavailableCode(error)) throw storeUnavailable('create', scratch, error);
        throw error;
      });
      return path.join(scratch, `${randomUUID()}${suffix}`);
    },
    async adoptFile(file, sha256) {
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RangeError(`adoptFile: "${sha256}" is not a sha256 hex`);
      return adopt(file, sha256);
    },
    async putFile(file) {
      const copy = await this.scratchFile(path.extname(file));
      try {
        await fs.copyFile(file, copy);
        return await adopt(copy, await sha256File(copy));
      } catch (error) {
        await fs.rm(copy, { force: true });
        if (isUnavailableCode(error)) throw storeUnavailable('copy into the blob store', file, error);
        throw error;
      }
    },
    async filePath(key) {
      const hex = hexOf(key);
      const file = fileOf(hex);
      if (verified.has(hex)) return file;
      const actual = await fileHashIfExists(file);
      if (actual === undefined) throw new BlobNotFoundError(`blob ${key} not found in ${dir}`);
      if (actual !== hex) throw new BlobCorruptError(`blob ${key} in ${file} does not match its hash (${actual})`);
      verified.add(hex);
      return file;
    },
    async putJson(value) {
      const bytes = Buffer.from(canonicalJson(value), 'utf8');
      const hex = sha256Hex(bytes);
      const file = fileOf(hex);
      const existing = await readFileIfExists(file);
      if (existing === undefined || !matches(existing, hex)) await writeFileAtomic(file, gzipSync(bytes));
      return `sha256:${hex}`;
    },
    async getJson(key) {
      const hex = hexOf(key);
      const file = fileOf(hex);
      const stored = await readFileIfExists(file);
      if (stored === undefined) throw new BlobNotFoundError(`blob ${key} not found in ${dir}`);
      const bytes = decode(stored);
      if (bytes === undefined || sha256Hex(bytes) !== hex) throw new BlobCorruptError(`blob ${key} in ${file} does not match its hash`);
      return JSON.parse(bytes.toString('utf8')) as unknown;
    },
  };
}

async function fileHashIfExists(file: string): Promise<string | undefined> {
  try {
    return await sha256File(file);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (isUnavailableCode(error)) throw storeUnavailable('read', file, error);
    throw error;
  }
}

/** gzip'ed (magic 1f 8b) or plain bytes; `undefined` if the gzip stream is damaged. */
function decode(stored: Buffer): Buffer | undefined {
  if (stored[0] !== 0x1f || stored[1] !== 0x8b) return stored;
  try {
    return gunzipSync(stored);
  } catch {
    return undefined;
  }
}

function matches(stored: Buffer, hex: string): boolean {
  const bytes = decode(stored);
  return bytes !== undefined && sha256Hex(bytes) === hex;
}
