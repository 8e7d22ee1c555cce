/**
 * `hs report <study> [--out report.html] [--baseline <study>]… [--ui URL]`: a self-contained HTML page of a
 * finished study (convergence, best DAG, JFK-scores, calls and cost, test score vs baselines, Web UI link),
 * from the study workflow's result and the evaluation ledger.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { createFsLedger, type Ledger } from '../../activities/ledger';
import { readEnv } from '../../workers/env';
import { studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { withClient } from '../client';
import { baselineOf, studyTaskSha256, type ReportInput } from '../report/data';
import { reportHtml } from '../report/html';

/** The Temporal Web UI of the dev server (`hs server start`); override with HS_TEMPORAL_UI or --ui. */
export const DEFAULT_TEMPORAL_UI = 'http://127.0.0.1:8233';

/** Everything the page needs, from a finished study's report, the ledger, and the named baseline studies. */
export async function reportInput(
  report: SearchReport,
  ledger: Ledger,
  options: { baselines?: readonly string[]; uiBase?: string; namespace?: string; generatedAt?: string } = {},
): Promise<ReportInput> {
  const entries = await ledger.list(report.study);
  const task = studyTaskSha256(entries);
  const baselines = await Promise.all((options.baselines ?? []).map(async (study) => baselineOf(study, await ledger.list(study), task)));
  return {
    report,
    entries,
    baselines,
    uiBase: options.uiBase ?? DEFAULT_TEMPORAL_UI,
    namespace: options.namespace ?? 'default',
    generatedAt: options.generatedAt ?? new Date().toISOString(),
  };
}

/** The study's report if its workflow completed; else a sentence saying why there is none. */
export async function finishedReport(client: Client, study: string): Promise<SearchReport | string> {
  const handle = client.workflow.getHandle(studyWorkflowId(study));
  let status;
  try {
    ({ status } = await handle.describe());
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return `no study "${study}" on this server (workflow ${studyWorkflowId(study)} not found)`;
    throw e;
  }
  if (status.name === 'RUNNING' || status.name === 'CONTINUED_AS_NEW') return `study "${study}" is still running; wait for it (\`npx hs result ${study}\`), then make the report`;
  if (status.name !== 'COMPLETED') return `study "${study}" ended ${status.name}: there is no report`;
  return (await handle.result()) as SearchReport;
}

export async function reportCommand(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string' }, baseline: { type: 'string', multiple: true }, ui: { type: 'string' } },
  });
  const study = positionals[0];
  if (study === undefined) {
    console.error('usage: hs report <study> [--out report.html] [--baseline <study>]… [--ui http://host:8233]');
    return 2;
  }
  const env = readEnv();
  const report = await withClient(env, (client) => finishedReport(client, study));
  if (typeof report === 'string') {
    console.error(report);
    return 1;
  }
  const input = await reportInput(report, createFsLedger(path.join(env.home, 'ledger')), {
    baselines: values.baseline ?? [],
    uiBase: values.ui ?? process.env.HS_TEMPORAL_UI ?? DEFAULT_TEMPORAL_UI,
    namespace: env.namespace,
  });
  const out = values.out ?? `${study.replace(/[^A-Za-z0-9._-]+/g, '_')}-report.html`;
  fs.writeFileSync(out, await reportHtml(input));
  const missing = input.baselines.filter((b) => b.testScore === null).map((b) => b.study);
  console.log(`${out}: report of "${study}" (${input.entries.length} ledger entries, ${input.baselines.length} baseline(s))`);
  if (missing.length > 0) console.error(`no finished test evaluation in the ledger for baseline(s): ${missing.join(', ')}`);
  return 0;
}
