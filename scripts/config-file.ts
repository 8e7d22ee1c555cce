/** Reading a study config file and reporting its problems (`hs validate`, `hs start`). */
import fs from 'node:fs';
import { parseSearchConfig, type ConfigProblem, type SearchConfig } from '../workflows/core/config';

export type LoadedConfig = { ok: true; raw: unknown; config: SearchConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * Where `JSON.parse` gave up on `text` (which it rejects), as "line L, column C" (1-based). V8's messages do not
 * always carry a position ("Unexpected token 'N', ... is not valid JSON"), so this bisects for the shortest
 * prefix that is already broken — not merely unfinished — (a broken prefix stays broken as it grows).
 */
export function jsonErrorLocation(text: string): string {
  const broken = (k: number): boolean => {
    try {
      JSON.parse(text.slice(0, k));
      return false;
    } catch (e) {
      const message = (e as Error).message;
      if (/Unexpected end of JSON input/.test(message)) return false;
      const at = /at position (\d+)/.exec(message);
      return at === null ? true : Number(at[1]) < k;
    }
  };
  const at = (offset: number): string => {
    const before = text.slice(0, offset).split('\n');
    return `line ${before.length}, column ${(before.at(-1) ?? '').length + 1}`;
  };
  if (!broken(text.length)) return `${at(text.length)} (the text ends before the JSON is complete)`;
  let lo = 0; // not broken
  let hi = text.length; // broken
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (broken(mid)) hi = mid;
    else lo = mid;
  }
  return at(hi - 1);
}

export function loadConfigFile(file: string): LoadedConfig {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    return { ok: false, problems: [{ path: '(file)', message: `cannot read ${file}: ${(e as Error).message}` }] };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, problems: [{ path: '(file)', message: `${file} is not valid UTF-8 text; save it as UTF-8` }] };
  }
  if (text.trim() === '') return { ok: false, problems: [{ path: '(file)', message: `${file} is empty; a study config is a JSON object` }] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const where = jsonErrorLocation(text);
    const hint = /\b(NaN|Infinity)\b/.test(text) ? ' (JSON has no NaN or Infinity: write a number)' : '';
    return { ok: false, problems: [{ path: '(file)', message: `${file} is not valid JSON at ${where}: ${(e as Error).message.replace(/\s+/g, ' ')}${hint}` }] };
  }
  const parsed = parseSearchConfig(raw);
  return parsed.ok ? { ok: true, raw, config: parsed.config } : parsed;
}

export function printProblems(file: string, problems: readonly ConfigProblem[]): void {
  console.error(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  for (const p of problems) console.error(`  ${p.path}: ${p.message}`);
}
