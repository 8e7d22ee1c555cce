/**
 * Path confinement: every file the LLM server loads (base models, LoRA adapters) must lie inside one of the
 * configured roots. Checked on the lexical path first (so nothing about files outside the roots leaks), then on
 * the real path (so a symlink inside a root cannot point outside it).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { LlmError } from './errors';

/** True when `child` is `parent` or lies below it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real paths of the roots that exist (a root that does not exist yet confines nothing). */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    try {
      out.push(await fs.realpath(root));
    } catch {
      // a missing root (e.g. no adapters written yet) allows nothing
    }
  }
  return out;
}

/**
 * Resolves `input` (absolute, or relative to `cwd`) to the real path of a regular file inside `roots`.
 * Throws `LlmError` 400 `invalid_path` (empty, NUL, `..` segments), 403 `path_not_allowed` (outside every root,
 * directly or through a symlink), 400 `file_not_found` (missing or not a regular file). `param` names the field.
 */
export async function confinePath(input: string, roots: readonly string[], param: string, cwd: string = process.cwd()): Promise<string> {
  if (input.trim() === '' || input.includes('\0')) throw new LlmError(400, `${param} must be a non-empty file path`, 'invalid_path', param);
  if (input.split(/[\\/]/).includes('..')) {
    throw new LlmError(400, `${param} "${input}" contains a ".." segment; give a path inside the allowed roots without ".."`, 'invalid_path', param);
  }
  const lexical = path.resolve(cwd, input);
  const absoluteRoots = roots.map((r) => path.resolve(cwd, r));
  const real = await realRoots(absoluteRoots);
  const allowed = `allowed roots: ${absoluteRoots.join(', ') || 'none'}`;
  if (!absoluteRoots.some((r) => isInside(r, lexical)) && !real.some((r) => isInside(r, lexical))) {
    throw new LlmError(403, `${param} "${input}" is outside the allowed roots (${allowed})`, 'path_not_allowed', param);
  }
  let resolved: string;
  try {
    resolved = await fs.realpath(lexical);
  } catch {
    throw new LlmError(400, `${param} "${input}" does not exist`, 'file_not_found', param);
  }
  if (!real.some((r) => isInside(r, resolved))) {
    throw new LlmError(403, `${param} "${input}" is a symlink (or lies under one) that leads outside the allowed roots (${allowed})`, 'path_not_allowed', param);
  }
  const stat = await fs.stat(resolved);
  if (!stat.isFile()) throw new LlmError(400, `${param} "${input}" is not a regular file`, 'file_not_found', param);
  return resolved;
}
