/**
 * Content-addressed blob store for everything too large for workflow history (transcripts; adapters
 * later). Keys are `sha256:<hex>` of the canonical JSON bytes, so a put is idempotent and a key always names
 * the same content.
 */
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { canonicalJson, sha256Hex } from './canonical-json';
import { readFileIfExists, writeFileAtomic } from './fs-store';

/** Store of immutable JSON documents addressed by content. */
export interface BlobStore {
  /** Stores a JSON-plain value; returns its key `sha256:<hex>` (of the canonical JSON). Idempotent. */
  putJson(value: unknown): Promise<string>;
  /** The value under `key`; throws if it is missing or its content does not match the key. */
  getJson(key: string): Promise<unknown>;
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
  return {
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
