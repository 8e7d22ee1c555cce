/**
 * Chaos at the endpoint, end to end: a whole study against a fake endpoint that answers 429 (with
 * retry-after), 500, 503, resets the connection or stalls past the request timeout on the first attempt of a
 * seeded ~30 % of its calls. Every fault is retried by Temporal and the call cache makes the retries free for
 * the calls that succeeded, so the study must end exactly as against a healthy endpoint — no fault may turn
 * into a silent 0 — and only the failed calls are sent again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRealDeps } from '../../workers/deps';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { startFakeOpenAi, type FakeFault, type FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { startLocalTemporal, tempDir, withWorkers } from '../helpers/temporal';

const FAULTS: { name: string; fault: FakeFault }[] = [
  { name: '429 retry-after 1 s', fault: { status: 429, headers: { 'retry-after': '1' } } },
  { name: '500', fault: { status: 500 } },
  { name: '503', fault: { status: 503 } },
  { name: 'connection reset', fault: 'reset' },
  { name: 'stall past the timeout', fault: { delayMs: 3_000 } },
];

/** A seeded choice per request key: ~30 % of calls get one of the faults on their first attempt. */
function faultFor(key: string): (typeof FAULTS)[number] | undefined {
  const h = createHash('sha256').update(`chaos:${key}`).digest().readUInt32BE(0) / 2 ** 32;
  return h < 0.3 ? FAULTS[Math.floor((h / 0.3) * FAULTS.length)] : undefined;
}

describe('chaos: a flaky endpoint (429, 500, 503, resets, stalls) changes nothing', function () {
  this.timeout(300_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeOpenAi;

  before(async () => {
    [env, fake] = await Promise.all([startLocalTemporal(), startFakeOpenAi()]);
  });
  after(async () => {
    await Promise.all([env?.teardown(), fake?.close()]);
  });

  const run = async (study: string): Promise<SearchReport> =>
    await withWorkers(env, createRealDeps({ home: tempDir(study), dataRoot: process.cwd() }), async () => {
      const config = tinyStudy(study, fake.baseURL, { maxIterations: 2, seed: 21, evaluation: { heartbeatTimeoutSeconds: 5, requestTimeoutSeconds: 1 } });
      return (await env.client.workflow.execute('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config] })) as SearchReport;
    });

  it('ends exactly as against a healthy endpoint and re-sends only the failed calls', async () => {
    const healthy = await run('faults-healthy');
    fake.reset();
    const injected = new Map<string, number>();
    fake.setFail((req) => {
      const chosen = req.attempt === 1 ? faultFor(req.key) : undefined;
      if (chosen) injected.set(chosen.name, (injected.get(chosen.name) ?? 0) + 1);
      return chosen?.fault;
    });
    const started = Date.now();
    let flaky: SearchReport;
    try {
      flaky = await run('faults-flaky');
    } finally {
      fake.setFail(undefined);
    }
    const keys = fake.requests.map((r) => r.key);
    const distinct = new Set(keys).size;
    const faults = [...injected.values()].reduce((a, b) => a + b, 0);
    console.log(
      `      ${faults} faults injected (${[...injected].map(([k, v]) => `${v} × ${k}`).join(', ')}) over ${distinct} distinct calls; ` +
        `${keys.length - distinct} re-sent; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.ok(injected.size === FAULTS.length, `every kind of fault was injected (${[...injected.keys()].join(', ')})`);
    const strip = (r: SearchReport) => ({ ...r, study: '', counters: null, best: { ...r.best, transcripts: null } });
    assert.deepEqual(strip(flaky), strip(healthy), 'same study as against the healthy endpoint');
    assert.equal(flaky.counters.errors, 0, 'no fault was recorded as an item error');
    // Each faulty call is sent again once; a call that did not fail is never sent twice.
    assert.equal(keys.length - distinct, faults);
  });
});
