/**
 * The audit trail of a whole small study (real local Temporal server, fake OpenAI server, real deps): one
 * ledger entry per evaluation, each joined to the workflow run that requested it, and the study's result
 * reconstructed from the trail alone.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createFsBlobStore } from '../../activities/blob-store';
import type { Transcript } from '../../activities/evaluate';
import { createFsLedger } from '../../activities/ledger';
import { auditCsv, auditJsonl, buildAuditTrail, transcriptText, type AuditTrail } from '../../scripts/commands/audit';
import { createRealDeps } from '../../workers/deps';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import type { FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { useTemporalAndFake, tempDir, withWorkers } from '../helpers/temporal';
import { until } from '../helpers/wait';

describe('hs audit: the evaluation ledger joined with the workflow runs', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeOpenAi;

  useTemporalAndFake((e, f) => {
    env = e;
    fake = f;
  });

  it('reconstructs the best dev and test scores of a study from the audit trail alone', async () => {
    const home = tempDir('audit');
    const study = 'audit-basic';
    // A hand-over after every iteration: the trail must cover every run of the chain.
    const config = tinyStudy(study, fake.baseURL, { maxIterations: 2, continueAsNewEvery: 1 });
    const report = (await withWorkers(env, createRealDeps({ home, dataRoot: process.cwd() }), () =>
      env.client.workflow.execute('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config] }),
    )) as SearchReport;

    const ledger = createFsLedger(path.join(home, 'ledger'));
    let trail: AuditTrail = { rows: [], executions: [] };
    // Visibility is eventually consistent: wait until every run is listed as closed.
    await until('every run visible and closed', async () => {
      trail = await buildAuditTrail(env.client, ledger, study);
      const parents = trail.executions.filter((e) => e.workflowId === studyWorkflowId(study));
      return parents.length === report.runs + 1 && trail.executions.every((e) => e.closeTime !== null) && trail.rows.every((r) => r.runId !== null);
    });
    const { rows, executions } = trail;

    assert.equal(report.runs, 1);
    assert.equal(rows.length, report.counters.evaluations, 'one ledger entry per evaluation');
    assert.equal(new Set(rows.map((r) => r.key)).size, rows.length);
    const runIds = new Set(executions.map((e) => e.runId));
    for (const r of rows) assert.ok(r.runId !== null && runIds.has(r.runId), `entry ${r.key} joined to a run`);
    assert.deepEqual(
      [...new Set(executions.map((e) => e.workflowId))].sort(),
      [`hs/${study}`, `hs/${study}/role-0`, `hs/${study}/role-1`, `hs/${study}/role-2`].sort(),
      'the study and every iteration child (no adapters: no weight step)',
    );
    assert.ok(executions.some((e) => e.status === 'CONTINUED_AS_NEW') && executions.some((e) => e.status === 'COMPLETED'));
    assert.deepEqual(
      rows.map((r) => `${r.iteration}/${r.step}`),
      [...Array<string>(4).fill('0/role'), ...Array<string>(4).fill('1/role'), ...Array<string>(4).fill('2/role'), '2/final'],
      'trail order: iteration, step, particle',
    );
    assert.equal(
      rows.reduce((sum, r) => sum + r.usage.calls, 0),
      report.counters.calls,
      'the paid calls of the trail add up to the report',
    );

    // The result, from the trail alone.
    const dev = rows.filter((r) => r.split === 'dev' && (r.step === 'role' || r.step === 'weight'));
    const bestDev = Math.max(...dev.map((r) => r.score));
    assert.equal(bestDev, report.best.devScore);
    const finals = rows.filter((r) => r.step === 'final');
    assert.equal(finals.length, 1);
    assert.equal(finals[0]!.split, 'test');
    assert.equal(finals[0]!.score, report.best.testScore);
    assert.equal(finals[0]!.transcriptKey, report.best.transcripts.test);
    assert.equal(finals[0]!.workflowId, studyWorkflowId(study));
    const bestRow = rows.find((r) => r.transcriptKey === report.best.transcripts.dev);
    assert.ok(bestRow, 'the best system’s dev evaluation is in the trail');
    assert.equal(bestRow.score, report.best.devScore);
    assert.deepEqual(bestRow.assignment, report.best.assignment);

    // Both output formats carry every evaluation.
    const jsonl = auditJsonl(rows).trim().split('\n');
    assert.equal(jsonl.length, rows.length);
    assert.deepEqual(JSON.parse(jsonl[0]!), rows[0]);
    const csv = auditCsv(rows).trim().split('\n');
    assert.equal(csv.length, rows.length + 1);
    assert.ok(csv[0]!.startsWith('study,iteration,step,particle,split,failure,score'));

    // `hs transcript` of the best system: every item's question and each node's model.
    const transcript = (await createFsBlobStore(path.join(home, 'blobs')).getJson(report.best.transcripts.dev)) as Transcript;
    const text = transcriptText(transcript);
    assert.ok(text.includes('What is 2 + 3?'), 'the question text');
    for (const model of report.best.assignment) assert.ok(text.includes(`[${model}]`), `node model ${model}`);
    assert.equal((text.match(/── item /g) ?? []).length, bestRow.total);
    assert.ok(text.includes(`score ${bestRow.correct}/${bestRow.total}`));
  });
});
