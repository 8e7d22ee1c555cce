/**
 * The evaluation ledger (design.md §2): one idempotent record per evaluation. The file implementation keeps
 * one JSON file per entry, `<dir>/<study>/<key>.json`, written atomically. The FIRST record of a key wins (atomically, across processes): a
 * retried activity, or a re-run answered from the call cache, evaluates the same identity and does not rewrite
 * history (its latency and usage would describe the replay, not the evaluation).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LedgerEntrySchema, compareLedgerEntries, ledgerIdentity, type LedgerEntry } from '../workflows/core/ledger';
import type { EvaluationRequest } from '../workflows/core/evaluation';
import { canonicalJson, sha256Hex } from './canonical-json';
import { errnoCode, isUnavailableCode, readFileIfExists, storeUnavailable, writeFileAtomic } from './fs-store';

export interface Ledger {
  /** Records `entry` unless an entry with its key exists (idempotent). */
  record(entry: LedgerEntry): Promise<void>;
  /** Every entry of `study`, in trail order (iteration, step, particle). */
  list(study: string): Promise<LedgerEntry[]>;
}

/** The ledger key of an evaluation: sha256 hex of its canonical identity. */
export function ledgerKey(request: EvaluationRequest, taskSha256: string): string {
  return sha256Hex(Buffer.from(canonicalJson(ledgerIdentity(request, taskSha256)), 'utf8'));
}

/** A study name as one path segment (names are free text in configs). */
const segment = (study: string): string => encodeURIComponent(study).replace(/^\.+/, (dots) => '%2E'.repeat(dots.length));

export function createFsLedger(dir: string): Ledger {
  const fileOf = (study: string, key: string): string => path.join(dir, segment(study), `${key}.json`);
  return {
    async record(entry) {
      const valid = LedgerEntrySchema.parse(entry);
      const file = fileOf(valid.study, valid.key);
      if ((await readFileIfExists(file)) !== undefined) return;
      // Exclusive: two processes recording the same key at once (a retried activity racing its first attempt)
      // cannot both write; the first link wins.
      await writeFileAtomic(file, `${JSON.stringify(valid)}\n`, { exclusive: true });
    },
    async list(study) {
      const studyDir = path.join(dir, segment(study));
      let names: string[];
      try {
        names = await fs.readdir(studyDir);
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ENOENT' || code === 'ENOTDIR') return [];
        if (isUnavailableCode(error)) throw storeUnavailable('list', studyDir, error);
        throw error;
      }
      const entries: LedgerEntry[] = [];
      for (const name of names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n))) {
        const file = path.join(studyDir, name);
        const bytes = await readFileIfExists(file);
        if (bytes === undefined) continue;
        const parsed = LedgerEntrySchema.safeParse(JSON.parse(bytes.toString('utf8')));
        if (!parsed.success) throw new Error(`ledger entry ${file} is damaged: ${parsed.error.message}`);
        entries.push(parsed.data);
      }
      return entries.sort(compareLedgerEntries);
    },
  };
}
