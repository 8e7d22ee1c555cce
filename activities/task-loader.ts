/**
 * Reading task files: resolve the path against the data root, fingerprint the bytes (sha256), parse them with
 * core `parseTaskText`, apply the dev/test limits. Errors are non-retryable `InvalidTaskData` failures that name
 * the file and the item.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { TaskSpec } from '../workflows/core/config';
import { FailureType } from '../workflows/core/errors';
import { parseTaskText, TaskDataError, type TaskData } from '../workflows/core/task';
import { sha256Hex } from './canonical-json';
import { resolveInDataRoot } from './fs-store';

/** A parsed task file with its fingerprint. */
export interface LoadedTask {
  /** sha256 hex of the file's bytes. */
  sha256: string;
  /** Items after `devLimit` / `testLimit`. */
  data: TaskData;
}

/** Loads task data for a `TaskSpec`. */
export interface TaskLoader {
  /** Throws a non-retryable `ApplicationFailure` of type `InvalidTaskData` for a missing or invalid file. */
  load(spec: TaskSpec): Promise<LoadedTask>;
}

/** `format: 'auto'` by extension: `.json` → paper-json, `.jsonl` → jsonl. */
export function resolveTaskFormat(spec: Pick<TaskSpec, 'path' | 'format'>): 'paper-json' | 'jsonl' | undefined {
  if (spec.format !== 'auto') return spec.format;
  const ext = path.extname(spec.path).toLowerCase();
  return ext === '.json' ? 'paper-json' : ext === '.jsonl' ? 'jsonl' : undefined;
}

function invalid(message: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.InvalidTaskData, message, nonRetryable: true, cause: cause instanceof Error ? cause : undefined });
}

/** "line N" of the first line that is not valid UTF-8 ("the file" if none is, e.g. a truncated sequence at the end). */
function firstNonUtf8Line(bytes: Buffer): string {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start);
    const stop = end === -1 ? bytes.length : end;
    try {
      decoder.decode(bytes.subarray(start, stop));
    } catch {
      return `line ${line}`;
    }
    start = stop + 1;
  }
  return 'the file';
}

const MEMO_ENTRIES = 16;

/**
 * Task loader on the local file system. Relative paths resolve against `dataRoot` and must stay inside it
 * ("../x" is rejected); absolute paths are used as they are. Parsed files are memoised in-process by (path,
 * mtime, size, parse options), so the many evaluations of a study read and parse each file once.
 */
export function createFsTaskLoader(options: { dataRoot: string }): TaskLoader {
  const memo = new Map<string, Promise<LoadedTask>>();

  const readAndParse = async (file: string, format: 'paper-json' | 'jsonl', spec: TaskSpec): Promise<LoadedTask> => {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (error) {
      throw invalid(`task file ${file}: cannot read it (${(error as Error).message})`, error);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (error) {
      throw invalid(`task file ${file}: ${firstNonUtf8Line(bytes)} is not valid UTF-8 text; save the file as UTF-8`, error);
    }
    let data: TaskData;
    try {
      data = parseTaskText(text, { format, type: spec.type, devFraction: spec.devFraction });
    } catch (error) {
      if (error instanceof TaskDataError) throw invalid(`task file ${file}: ${error.message}`, error);
      throw error;
    }
    return { sha256: sha256Hex(bytes), data };
  };

  return {
    async load(spec) {
      const file = resolveInDataRoot(options.dataRoot, spec.path);
      if (file === undefined) {
        throw invalid(
          `task.path "${spec.path}" resolves to ${path.resolve(options.dataRoot, spec.path)}, outside the data root ${options.dataRoot}; relative task paths must stay inside the data root (HS_DATA_ROOT) — move the file there, point HS_DATA_ROOT at its directory, or give an absolute path`,
        );
      }
      const format = resolveTaskFormat(spec);
      if (format === undefined) {
        throw invalid(`task file ${file}: cannot tell the format from the extension; use .json or .jsonl, or set task.format to "paper-json" or "jsonl"`);
      }
      let stat: { mtimeMs: number; size: number; isFile(): boolean };
      try {
        stat = await fs.stat(file);
      } catch (error) {
        throw invalid(`task file ${file} not found (task.path "${spec.path}", data root ${options.dataRoot})`, error);
      }
      if (!stat.isFile()) throw invalid(`task file ${file} is not a regular file`);
      const memoKey = JSON.stringify([file, stat.mtimeMs, stat.size, format, spec.type, spec.devFraction]);
      let loading = memo.get(memoKey);
      if (loading === undefined) {
        loading = readAndParse(file, format, spec);
        memo.set(memoKey, loading);
        if (memo.size > MEMO_ENTRIES) memo.delete(memo.keys().next().value!);
        loading.catch(() => memo.delete(memoKey));
      }
      const full = await loading;
      const data: TaskData = {
        dev: spec.devLimit === undefined ? full.data.dev : full.data.dev.slice(0, spec.devLimit),
        test: spec.testLimit === undefined ? full.data.test : full.data.test.slice(0, spec.testLimit),
      };
      if (data.dev.length === 0) {
        const none = full.data.dev.length + full.data.test.length === 0;
        throw invalid(`task file ${file}: the dev split is empty${none ? ' (the file has no items)' : ''}`);
      }
      return { sha256: full.sha256, data };
    },
  };
}
