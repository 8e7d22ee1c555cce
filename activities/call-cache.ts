/**
 * Content-addressed cache of model calls (design.md §2: "exactly-once effect from at-least-once
 * activities"). The key hashes everything that determines a greedy completion — endpoint, model, adapter,
 * messages, generation parameters — and never the API key. A retried or resumed activity re-reads finished
 * calls instead of paying for them again.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from './canonical-json';
import { assertWritable, readFileIfExists, writeFileAtomic } from './fs-store';

/** What determines one model call. */
export interface CallKeyParts {
  baseURL: string;
  model: string;
  /** Content hash of a LoRA adapter loaded on the endpoint (weight step); undefined for the base model. */
  adapter?: string | undefined;
  messages: readonly { role: string; content: string }[];
  params: { maxTokens: number; temperature: number; [name: string]: unknown };
}

/** The cached answer of one call. */
export interface CachedCall {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: string | null;
}

/** Cache of finished model calls, by `callCacheKey`. */
export interface CallCache {
  /** The cached call, or `undefined` on a miss (including an unreadable or corrupt entry). */
  get(key: string): Promise<CachedCall | undefined>;
  /** Stores a call; idempotent. Throws a retryable `StoreUnavailable` failure when the store cannot be written. */
  put(key: string, value: CachedCall): Promise<void>;
  /**
   * Throws `StoreUnavailable` when a `put` would fail now (disk full, read-only, no permission): checked
   * before an evaluation pays for calls, so an outage costs retries instead of calls answered but not kept.
   */
  assertWritable(): Promise<void>;
}

/**
 * sha256 hex of the canonical JSON of `parts` (sorted keys; an undefined adapter is omitted; trailing
 * slashes of `baseURL` ignored).
 */
export function callCacheKey(parts: CallKeyParts): string {
  return sha256Hex(
    canonicalJson({
      v: 1,
      baseURL: parts.baseURL.replace(/\/+$/, ''),
      model: parts.model,
      adapter: parts.adapter,
      messages: parts.messages.map((m) => ({ role: m.role, content: m.content })),
      params: parts.params,
    }),
  );
}

const KEY = /^[0-9a-f]{64}$/;

const EntrySchema = z.strictObject({
  v: z.literal(1),
  key: z.string(),
  text: z.string(),
  promptTokens: z.int().min(0),
  completionTokens: z.int().min(0),
  finishReason: z.string().nullable(),
});

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new RangeError(`call-cache key must be 64 lowercase hex characters, got "${key}"`);
}

/**
 * On-disk call cache: one JSON file per call at `<dir>/<first two hex>/<key>.json`, written atomically.
 * Safe with several processes on one host. A corrupt or foreign file counts as a miss and is overwritten by
 * the next `put`.
 */
export function createFsCallCache(dir: string): CallCache {
  const fileOf = (key: string): string => path.join(dir, key.slice(0, 2), `${key}.json`);
  return {
    async get(key) {
      checkKey(key);
      const bytes = await readFileIfExists(fileOf(key));
      if (bytes === undefined) return undefined;
      let doc: unknown;
      try {
        doc = JSON.parse(bytes.toString('utf8'));
      } catch {
        return undefined;
      }
      const entry = EntrySchema.safeParse(doc);
      if (!entry.success || entry.data.key !== key) return undefined;
      const { text, promptTokens, completionTokens, finishReason } = entry.data;
      return { text, promptTokens, completionTokens, finishReason };
    },
    async put(key, value) {
      checkKey(key);
      const entry = { v: 1, key, text: value.text, promptTokens: value.promptTokens, completionTokens: value.completionTokens, finishReason: value.finishReason };
      await writeFileAtomic(fileOf(key), `${JSON.stringify(entry)}\n`);
    },
    assertWritable: () => assertWritable(dir),
  };
}
