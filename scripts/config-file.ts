/** Reading a study config file and reporting its problems (`hs validate`, `hs start`). */
import fs from 'node:fs';
import { parseSearchConfig, type ConfigProblem, type SearchConfig } from '../workflows/core/config';

export type LoadedConfig = { ok: true; raw: unknown; config: SearchConfig } | { ok: false; problems: ConfigProblem[] };

export function loadConfigFile(file: string): LoadedConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, problems: [{ path: '(file)', message: `cannot read ${file}: ${(e as Error).message}` }] };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [{ path: '(file)', message: `${file} is not valid JSON: ${(e as Error).message}` }] };
  }
  const parsed = parseSearchConfig(raw);
  return parsed.ok ? { ok: true, raw, config: parsed.config } : parsed;
}

export function printProblems(file: string, problems: readonly ConfigProblem[]): void {
  console.error(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  for (const p of problems) console.error(`  ${p.path}: ${p.message}`);
}
