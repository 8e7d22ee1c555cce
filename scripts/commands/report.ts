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
import { reportQuery, statusQuery } from '../../workflows/messages';
import type { SearchReport, StudyView } from '../../workflows/search.workflow';
import { withClient } from '../client';
import { baselineOf, studyTaskSha256, type ReportInput, type RunningStudy } from '../report/data';
import { reportHtml } from '../report/html';

/** The Temporal Web UI of the dev server (`hs server start`); override with HS_TEMPORAL_UI or --ui. */
export const DEFAULT_TEMPORAL_UI = 'http://127.0.0.1:8233';

/** Everything the page needs, from a study's report (or its view so far), the ledger, and the named baseline studies. */
export async function reportInput(
  report: StudyView,
  ledger: Ledger,
  options: { baselines?: readonly string[]; uiBase?: string; namespace?: string; generatedAt?: string; running?: RunningStudy } = {},
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
    running: options.running ?? null,
  };
}

/**
 * The study's report if its workflow completed; its view so far (the `report` query) while it runs; else a
 * sentence saying why there is none.
 */
export async function studyReport(client: Client, study: string): Promise<{ report: StudyView; running: RunningStudy | null } | string> {
  const handle = client.workflow.getHandle(studyWorkflowId(study));
  let status;
  try {
    ({ status } = await handle.describe());
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return `no study "${study}" on this server (workflow ${studyWorkflowId(study)} not found)`;
    throw e;
  }
  if (status.name === 'RUNNING') {
    const [view, s] = await Promise.all([handle.query(reportQuery), handle.query(statusQuery)]);
    if (view === null) return `study "${study}" is still in its initial evaluation: there is nothing to draw yet`;
    return { report: view, running: { phase: s.phase, iteration: s.iteration, maxIterations: s.maxIterations } };
  }
  if (status.name !== 'COMPLETED') return `study "${study}" ended ${status.name}: there is no report`;
  return { report: (await handle.result()) as SearchReport, running: null };
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
  const found = await withClient(env, (client) => studyReport(client, study));
  if (typeof found === 'string') {
    console.error(found);
    return 1;
  }
  const { report, running } = found;
  const input = await reportInput(report, createFsLedger(path.join(env.home, 'ledger')), {
    running: running ?? undefined,
    baselines: values.baseline ?? [],
    uiBase: values.ui ?? process.env.HS_TEMPORAL_UI ?? DEFAULT_TEMPORAL_UI,
    namespace: env.namespace,
  });
  const out = values.out ?? `${study.replace(/[^A-Za-z0-9._-]+/g, '_')}-report.html`;
  fs.writeFileSync(out, await reportHtml(input));
  const missing = input.baselines.filter((b) => b.testScore === null).map((b) => b.study);
  const when = running === null ? '' : `, running: ${running.phase}, iteration ${running.iteration} of ${running.maxIterations}`;
  console.log(`${out}: report of "${study}" (${input.entries.length} ledger entries, ${input.baselines.length} baseline(s)${when})`);
  if (missing.length > 0) console.error(`no finished test evaluation in the ledger for baseline(s): ${missing.join(', ')}`);
  return 0;
}
