/**
 * Worker telemetry as an operator sees it: `hs worker` with HS_METRICS_ADDRESS and HS_LOG_FORMAT=json runs a
 * study; its `/metrics` endpoint serves the Temporal SDK's runtime metrics and ours — whose totals must equal
 * the study's own counters — and every line it logs is one JSON object, the evaluations' with study,
 * iteration, step and particle fields.
 */
import assert from 'node:assert/strict';
import { freePort } from '../../scripts/dev-server';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { tempDir } from '../helpers/temporal';
import { WorkerProcesses } from '../helpers/worker-processes';

/** Sum of a metric's samples (all label sets) whose labels include `study="<study>"`. */
function total(metrics: string, name: string, study: string): number {
  const pattern = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm');
  let sum = 0;
  for (const m of metrics.matchAll(pattern)) if (m[1]!.includes(`study="${study}"`)) sum += Number(m[2]);
  return sum;
}

describe('e2e: worker metrics (Prometheus) and JSON logs', function () {
  this.timeout(300_000);
  let devServer: DevServerProcess;
  let fake: FakeOpenAi;
  const workers = new WorkerProcesses(() => devServer.address);

  before(async () => {
    [devServer, fake] = await Promise.all([startDevServerProcess('tel'), startFakeOpenAi({})]);
  });
  after(async () => {
    await workers.stopAll();
    await devServer?.close();
    await fake?.close();
  });

  it('serves SDK and study metrics that match the report, and logs JSON with study/iteration/particle', async () => {
    const port = await freePort();
    workers.spawn(tempDir('tel-home'), { env: { HS_METRICS_ADDRESS: `127.0.0.1:${port}`, HS_LOG_FORMAT: 'json' } });
    const study = 'telemetry';
    const handle = await devServer.client.workflow.start('swarmSearch', {
      taskQueue: ORCHESTRATOR_TASK_QUEUE,
      workflowId: studyWorkflowId(study),
      args: [tinyStudy(study, fake.baseURL, { maxIterations: 1 })],
    });
    const report = await workers.resultOrCrash(handle.result() as Promise<SearchReport>);

    let metrics = '';
    await workers.until('our metrics to be exported', async () => {
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return total(metrics, 'hs_model_calls', study) === report.counters.calls && total(metrics, 'hs_evaluations', study) === report.counters.evaluations;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    assert.match(metrics, /^temporal_\w+/m, 'the SDK runtime metrics');
    assert.equal(total(metrics, 'hs_cache_hits', study), report.counters.cacheHits);
    assert.equal(total(metrics, 'hs_prompt_tokens', study), report.counters.promptTokens);
    assert.equal(total(metrics, 'hs_evaluation_latency_count', study), report.counters.evaluations);
    assert.equal(total(metrics, 'hs_best_dev_score', study), report.best.devScore);

    // The worker logs each evaluation before completing it; its stderr may reach us after the result.
    const finished = (): number => workers.output().split('\n').filter((l) => l.includes('"message":"evaluation finished"')).length;
    await workers.until('every evaluation logged', () => finished() >= report.counters.evaluations, { timeoutMs: 10_000, intervalMs: 100 });
    const lines = workers.output().split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length > 0);
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return assert.fail(`not a JSON log line: ${line}`);
      }
    });
    for (const e of entries) assert.ok(typeof e.time === 'string' && typeof e.level === 'string' && typeof e.message === 'string', JSON.stringify(e));
    const evaluations = entries.filter((e) => e.message === 'evaluation finished');
    assert.equal(evaluations.length, report.counters.evaluations);
    const particleLines = evaluations.filter((e) => e.step === 'role');
    assert.ok(particleLines.length > 0 && particleLines.every((e) => e.study === study && typeof e.iteration === 'number' && typeof e.particle === 'number' && typeof e.workflowId === 'string'));
    assert.ok(entries.some((e) => e.message === 'iteration finished' && e.study === study && e.iteration === 1));
  });
});
