/**
 * Chaos at the model endpoint, with the dev server and the worker as separate processes:
 * - transport faults (429 with retry-after, 500, 503, connection resets, stalls past the request timeout,
 *   a truncated JSON body) on the first attempt of a seeded ~30 % of calls are retried: the study ends
 *   exactly as against a healthy endpoint, no fault becomes an item error or a silent 0, and only the failed
 *   calls are sent again;
 * - empty and garbled answers are answers, not errors: they are counted as unparsable (scored as wrong, as
 *   the paper does), visible in the study's counters, the ledger and the transcripts;
 * - when nearly every answer is unusable the evaluation fails visibly (`EvaluationDegenerate`): the study
 *   fails with that cause, and the rejected evaluation is in the ledger with its counts and transcript.
 * The API key comes from the worker's environment and must not appear in anything the worker prints, even
 * when the endpoint echoes it back in a 401.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { createFsBlobStore } from '../../activities/blob-store';
import type { Transcript } from '../../activities/evaluate';
import { createFsLedger } from '../../activities/ledger';
import type { SearchConfigInput } from '../../workflows/core/config';
import { FailureType } from '../../workflows/core/errors';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { defaultAnswer, startFakeOpenAi, type FakeFault, type FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { tempDir } from '../helpers/temporal';
import { WorkerProcesses } from '../helpers/worker-processes';
import { comparable, printScenario, resentCalls } from './rig';

const KEY_ENV = 'HS_CHAOS_API_KEY';
const SENTINEL = 'sk-faults-sentinel-2d8e41b07c';

const FAULTS: { name: string; fault: FakeFault }[] = [
  { name: '429 retry-after 1 s', fault: { status: 429, headers: { 'retry-after': '1' } } },
  { name: '500', fault: { status: 500 } },
  { name: '503', fault: { status: 503 } },
  { name: 'connection reset', fault: 'reset' },
  { name: 'stall past the timeout', fault: { delayMs: 3_000 } },
  { name: 'truncated JSON body', fault: { rawBody: '{"id":"chatcmpl-cut","object":"chat.completion","choices":[{"index":0,"message":{"role":"assi' } },
];

/** A seeded draw in [0, 1) per request key and purpose. */
const draw = (purpose: string, key: string): number => createHash('sha256').update(`${purpose}:${key}`).digest().readUInt32BE(0) / 2 ** 32;

/** A seeded ~30 % of calls fail on their first attempt, with the kinds of fault taken in turn. */
function faultInjector(injected: Map<string, number>) {
  let next = 0;
  return (req: { key: string; attempt: number }): FakeFault | undefined => {
    if (req.attempt !== 1 || draw('fault', req.key) >= 0.3) return undefined;
    const chosen = FAULTS[next++ % FAULTS.length]!;
    injected.set(chosen.name, (injected.get(chosen.name) ?? 0) + 1);
    return chosen.fault;
  };
}

/** The cause chain of a failure, outermost first. */
function causes(error: unknown): { message: string; type?: string | null; retryState?: string }[] {
  const chain: { message: string; type?: string | null; retryState?: string }[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const { type, retryState } = e as { type?: string | null; retryState?: string };
    chain.push({ message: e.message, type, ...(retryState === undefined ? {} : { retryState }) });
  }
  return chain;
}

describe('chaos: a faulty model endpoint', function () {
  this.timeout(600_000);
  let devServer: DevServerProcess;
  let fake: FakeOpenAi;
  let client: Client;
  const workers = new WorkerProcesses(() => devServer.address);

  before(async () => {
    [devServer, fake] = await Promise.all([startDevServerProcess('faults'), startFakeOpenAi()]);
    client = devServer.client;
  });
  afterEach(() => {
    fake.setFail(undefined);
    fake.setRespond(undefined);
  });
  after(async () => {
    await workers.stopAll();
    await devServer?.close();
    await fake?.close();
  });

  const config = (study: string): SearchConfigInput => {
    const base = tinyStudy(study, fake.baseURL, { maxIterations: 2, seed: 21, evaluation: { heartbeatTimeoutSeconds: 5, requestTimeoutSeconds: 1 } });
    return { ...base, models: base.models.map((m) => ({ ...m, apiKeyEnv: KEY_ENV })) };
  };
  /** Runs `study` on a fresh worker process with its own home; the result or the failure. */
  const run = async (study: string, home = tempDir(study)): Promise<{ home: string; outcome: Promise<SearchReport> }> => {
    const worker = workers.spawn(home, { env: { [KEY_ENV]: SENTINEL } });
    const handle = await client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config(study)] });
    const outcome = workers.resultOrCrash(handle.result() as Promise<SearchReport>).finally(() => workers.stop(worker, 'SIGTERM'));
    outcome.catch(() => undefined); // observed by the caller
    return { home, outcome };
  };
  const noKeyInLogs = (): void => {
    assert.ok(fake.requests.every((r) => r.authorization === `Bearer ${SENTINEL}`), 'the key from the environment was sent');
    assert.ok(!workers.output().includes(SENTINEL), 'the key appears in no worker log');
  };

  it('retries 429, 500, 503, resets, stalls and truncated bodies: same study as a healthy endpoint, only failed calls re-sent', async () => {
    const healthy = await (await run('faults-healthy')).outcome;
    fake.reset();
    const injected = new Map<string, number>();
    fake.setFail(faultInjector(injected));
    const started = Date.now();
    const flaky = await (await run('faults-flaky')).outcome;
    const faults = [...injected.values()].reduce((a, b) => a + b, 0);
    const resent = resentCalls(fake);
    printScenario(
      `endpoint faults on ${faults} of ${new Set(fake.requests.map((r) => r.key)).size} calls (${[...injected].map(([k, v]) => `${v} × ${k}`).join(', ')})`,
      [],
      resent,
      ` (bound: the ${faults} failed calls); study took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.equal(injected.size, FAULTS.length, `every kind of fault was injected (${[...injected.keys()].join(', ')})`);
    assert.deepEqual(comparable(flaky), comparable(healthy), 'same study as against the healthy endpoint');
    assert.equal(flaky.counters.errors, 0, 'no fault was recorded as an item error');
    assert.equal(flaky.counters.unparsable, healthy.counters.unparsable, 'no fault became an unparsable answer');
    assert.equal(resent, faults, 'each failed call is sent again once; a call that did not fail is never sent twice');
    noKeyInLogs();
  });

  it('counts empty and garbled answers as unparsable, visibly (counters, ledger, transcripts)', async () => {
    fake.reset();
    const unusable = (key: string): string | undefined => {
      const h = draw('answer', key);
      return h < 0.1 ? '' : h < 0.2 ? '¿¿ %% \u0000 ##~' : undefined;
    };
    fake.setRespond((req) => unusable(req.key) ?? defaultAnswer(req.model, req.prompt));
    const { home, outcome } = await run('faults-garbled');
    const report = await outcome;
    const entries = await createFsLedger(path.join(home, 'ledger')).list('faults-garbled');
    const ledgerUnparsable = entries.reduce((sum, e) => sum + e.unparsable, 0);
    console.log(`      [chaos] empty/garbled answers on ${fake.requests.filter((r) => unusable(r.key) !== undefined).length} of ${fake.requests.length} calls: ${report.counters.unparsable} unparsable sink answers counted over ${entries.length} evaluations, 0 errors`);
    assert.ok(report.counters.unparsable > 0, 'unusable answers reached sinks and were counted');
    assert.equal(ledgerUnparsable, report.counters.unparsable, 'the ledger holds the same count');
    assert.equal(report.counters.errors, 0, 'an answer is never an error');
    const blobs = createFsBlobStore(path.join(home, 'blobs'));
    for (const entry of entries) {
      const transcript = (await blobs.getJson(entry.transcriptKey)) as Transcript;
      const unparsed = transcript.items.filter((i) => i.parsed === null);
      assert.equal(unparsed.length, entry.unparsable, 'the transcript shows every unparsable answer');
      assert.ok(unparsed.every((i) => !i.correct), 'an unparsable answer is wrong, as in the paper');
      assert.equal(entry.correct, transcript.items.filter((i) => i.correct).length);
    }
    noKeyInLogs();
  });

  it('fails the study visibly (EvaluationDegenerate) when nearly every answer is unusable; the rejected evaluation is in the ledger', async () => {
    fake.reset();
    fake.setRespond(() => '');
    const { home, outcome } = await run('faults-degenerate');
    const error = await outcome.then(
      () => assert.fail('the study should fail'),
      (e: unknown) => e,
    );
    const chain = causes(error);
    const degenerate = chain.find((c) => c.type === FailureType.EvaluationDegenerate);
    assert.ok(degenerate, `EvaluationDegenerate in the cause chain: ${JSON.stringify(chain)}`);
    assert.match(degenerate.message, /^(\d+) of \1 answers were unparsable/);
    assert.equal(resentCalls(fake), 0, 'a degenerate evaluation is not retried');
    const rejected = (await createFsLedger(path.join(home, 'ledger')).list('faults-degenerate')).filter((e) => e.failure !== null);
    assert.ok(rejected.length >= 1, 'the rejected evaluation is recorded');
    assert.ok(rejected.every((e) => e.failure?.type === FailureType.EvaluationDegenerate && e.unparsable === e.total));
    console.log(`      [chaos] all answers empty: study failed with "${degenerate.message.slice(0, 60)}…"; ${rejected.length} rejected evaluation(s) in the ledger`);
    noKeyInLogs();
  });

  it('an endpoint that rejects the key and echoes it back: the study fails with ModelInvocationError.Auth, and no worker log shows the key', async () => {
    fake.reset();
    fake.setFail((req) => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${req.authorization?.replace(/^Bearer /, '') ?? ''}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } }));
    const { outcome } = await run('faults-auth');
    const error = await outcome.then(
      () => assert.fail('the study should fail'),
      (e: unknown) => e,
    );
    assert.ok(causes(error).some((c) => c.type === FailureType.ModelAuth), 'failed with ModelInvocationError.Auth');
    assert.ok(!causes(error).some((c) => c.message.includes(SENTINEL)), 'the failure message does not carry the key');
    // Not retried: the failed activity gave up at its first attempt. (Other evaluations running in parallel may
    // still send the same call once: a failed call is not cached.)
    const activity = causes(error).find((c) => c.retryState !== undefined && c.message.includes('Activity task failed'));
    assert.equal(activity?.retryState, 'NON_RETRYABLE_FAILURE', JSON.stringify(causes(error)));
    noKeyInLogs();
  });
});
