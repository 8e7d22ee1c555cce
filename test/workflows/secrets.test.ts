/**
 * API keys never leave the worker's environment: a study whose models authenticate with a sentinel key read
 * from `apiKeyEnv` — including a model whose endpoint rejects the key and echoes it back, as OpenAI does — and
 * then a scan of everything the study left behind: every workflow history (parent and children), every blob,
 * every call-cache entry and the report. The key must appear in none of them, yet must have been sent.
 * (Worker logs are scanned by the chaos scenarios, whose workers are separate processes: test/chaos/.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRealDeps } from '../../workers/deps';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { startLocalTemporal, tempDir, withWorkers } from '../helpers/temporal';

const KEY_ENV = 'HS_TEST_SENTINEL_API_KEY';

/** Every file below `dir`, decompressed when gzip'ed. */
function contentsUnder(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((rel) => path.join(dir, rel))
    .filter((file) => statSync(file).isFile())
    .map((file) => {
      const bytes = readFileSync(file);
      return { file, text: (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('latin1') };
    });
}

describe('secrets: API keys stay in the worker environment', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeOpenAi;
  const sentinel = `sk-sentinel-${randomBytes(12).toString('hex')}`;

  before(async () => {
    process.env[KEY_ENV] = sentinel;
    [env, fake] = await Promise.all([startLocalTemporal(), startFakeOpenAi()]);
  });
  after(async () => {
    delete process.env[KEY_ENV];
    await Promise.all([env?.teardown(), fake?.close()]);
  });

  /** Every history of the study's workflows (all runs, children included), as JSON text. */
  async function histories(study: string): Promise<string[]> {
    const out: string[] = [];
    for await (const execution of env.client.workflow.list({ query: `WorkflowId STARTS_WITH "${studyWorkflowId(study)}"` })) {
      const handle = env.client.workflow.getHandle(execution.workflowId, execution.runId);
      out.push(historyToJSON(await handle.fetchHistory()));
    }
    return out;
  }

  it('a study that uses the key (and one that is refused with it) leaves it nowhere', async () => {
    const home = tempDir('secrets');
    const refusedHome = tempDir('secrets-refused');
    const config = tinyStudy('secrets-ok', fake.baseURL, { maxIterations: 1 });
    config.models = config.models.map((m) => ({ ...m, apiKeyEnv: KEY_ENV }));
    const refused = { ...config, study: 'secrets-refused' };
    const report = await withWorkers(env, createRealDeps({ home, dataRoot: process.cwd() }), async () =>
      (await env.client.workflow.execute('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(config.study), args: [config] })) as SearchReport,
    );
    // The endpoint rejects the key and quotes it back in its error message (own store: nothing is cached).
    fake.setFail((req) => (req.model === 'fake-beta' ? { status: 401, body: { error: { message: `Incorrect API key provided: ${sentinel}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } } : undefined));
    try {
      await withWorkers(env, createRealDeps({ home: refusedHome, dataRoot: process.cwd() }), () =>
        assert.rejects(
          env.client.workflow.execute('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(refused.study), args: [refused] }),
          (err: unknown) => err instanceof WorkflowFailedError,
        ),
      );
    } finally {
      fake.setFail(undefined);
    }

    assert.ok(fake.requests.length > 0);
    assert.ok(fake.requests.every((r) => r.authorization === `Bearer ${sentinel}`), 'every call carried the key from the environment');

    const places = [
      ...(await histories('secrets-ok')).map((text, i) => ({ file: `history secrets-ok #${i}`, text })),
      ...(await histories('secrets-refused')).map((text, i) => ({ file: `history secrets-refused #${i}`, text })),
      ...contentsUnder(home),
      ...contentsUnder(refusedHome),
      { file: 'report', text: JSON.stringify(report) },
    ];
    assert.ok(places.length > 10, `scanned ${places.length} places`);
    assert.ok(
      places.some((p) => p.file.startsWith('history secrets-refused') && /ModelInvocationError\.Auth/.test(p.text)),
      'the refused study recorded the auth failure (so its message was scanned)',
    );
    const leaks = places.filter((p) => p.text.includes(sentinel)).map((p) => p.file);
    assert.deepEqual(leaks, [], 'the API key appears nowhere');
  });
});
