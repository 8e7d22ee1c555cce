/**
 * HeterogeneousSwarmsPlugin without a server: options (defaults from the HS_* environment, clear errors) and
 * what it does to a host's Client, Workers and replay Workers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { PayloadCodec } from '@temporalio/common';
import type { WorkerOptions } from '@temporalio/worker';
import { HeterogeneousSwarmsPlugin } from '../../workers/plugin';
import { parsePluginOptions } from '../../workers/plugin-options';
import { WORKFLOWS_PATH } from '../../workers/worker';

const identity: PayloadCodec = { encode: (p) => Promise.resolve(p), decode: (p) => Promise.resolve(p) };
const hostActivity = (): Promise<string> => Promise.resolve('host');

describe('HeterogeneousSwarmsPlugin options', () => {
  it('default to the HS_* environment, relative paths resolved against the cwd', () => {
    const key = randomBytes(32);
    const settings = parsePluginOptions({}, { HS_HOME: 'state', HS_DATA_ROOT: 'data', HS_PAYLOAD_KEY: key.toString('base64'), HS_MAX_EVALUATIONS: '8' }, '/srv/app');
    assert.deepEqual(settings, {
      home: '/srv/app/state',
      dataRoot: '/srv/app/data',
      adapterExportDir: '/srv/app/state/adapters/versions',
      payloadKey: key,
      queues: ['hs', 'hs-llm', 'hs-weights'],
      maxEvaluations: 8,
      maxWeightUpdates: 4,
      workflowBundle: undefined,
    });
    assert.equal(parsePluginOptions({}, {}, '/srv/app').home, '/srv/app/.hs', 'as hs worker: .hs in the cwd');
  });

  it('win over the environment; payloadKey null turns encryption off', () => {
    const env = { HS_HOME: 'state', HS_PAYLOAD_KEY: randomBytes(32).toString('base64'), HS_ADAPTER_EXPORT_DIR: '/shared/versions' };
    const settings = parsePluginOptions({ home: '/var/hs', dataRoot: '../data', payloadKey: null, queues: ['hs-llm'], maxEvaluations: 2 }, env, '/srv/app');
    assert.equal(settings.home, '/var/hs');
    assert.equal(settings.dataRoot, '/srv/data');
    assert.equal(settings.adapterExportDir, '/shared/versions', 'an explicit export dir in the environment stays');
    assert.equal(settings.payloadKey, undefined);
    assert.deepEqual(settings.queues, ['hs-llm']);
    assert.equal(settings.maxEvaluations, 2);
  });

  it('name every bad option and its fix', () => {
    const bad = (options: unknown, message: RegExp): void => assert.throws(() => parsePluginOptions(options, {}), message);
    bad({ queues: ['hs', 'hs-gpu'] }, /Invalid HeterogeneousSwarmsPlugin options:\n {2}queues\.1: Invalid option: expected one of "hs"\|"hs-llm"\|"hs-weights"/);
    bad({ queues: ['hs', 'hs'] }, /queues: lists a queue twice/);
    bad({ dataroot: '.' }, /\(options\): Unrecognized key: "dataroot"/);
    bad({ home: '', maxEvaluations: 0 }, /home: must be a non-empty path\n {2}maxEvaluations: Too small/);
    bad({ payloadKey: randomBytes(16).toString('base64') }, /payloadKey: must be 32 random bytes in base64/);
    bad({ workflowBundle: { path: 'x' } }, /workflowBundle: must be a workflow bundle/);
    assert.throws(() => new HeterogeneousSwarmsPlugin({ maxWeightUpdates: 1.5 }), /maxWeightUpdates: Invalid input: expected int/);
  });
});

describe("HeterogeneousSwarmsPlugin on a host's Client and Workers", () => {
  const key = randomBytes(32).toString('base64');
  const plugin = new HeterogeneousSwarmsPlugin({ home: '/tmp/hs-plugin-unused', payloadKey: key, maxEvaluations: 3 });
  const worker = (options: Partial<WorkerOptions>): WorkerOptions => plugin.configureWorker({ taskQueue: 'my-app', ...options });

  it("appends our codec after the host's own, once, on the Client and on Workers", () => {
    const client = plugin.configureClient({ dataConverter: { payloadCodecs: [identity] } });
    const codecs = client.dataConverter?.payloadCodecs ?? [];
    assert.equal(codecs.length, 2);
    assert.equal(codecs[0], identity, "the host's codec runs first (e.g. compress, then seal)");
    assert.deepEqual(plugin.configureClient(client).dataConverter?.payloadCodecs, codecs, 'configured twice: still one codec');
    assert.deepEqual(worker({ dataConverter: { payloadCodecs: [identity] } }).dataConverter?.payloadCodecs, codecs);
    const plain = new HeterogeneousSwarmsPlugin({ payloadKey: null }).configureClient({});
    assert.equal(plain.dataConverter, undefined, 'no key: the data converter is left alone');
  });

  it('keeps the key only inside the codec: printing the plugin does not show it', () => {
    const printed = inspect(plugin, { depth: Infinity, showHidden: true });
    for (const form of [key, Buffer.from(key, 'base64').toString('hex').match(/../g)!.join(' ')]) assert.ok(!printed.includes(form));
  });

  it("leaves a Worker on the host's own queue with its workflows and activities", () => {
    const configured = worker({ workflowsPath: '/app/workflows.js', activities: { hostActivity } });
    assert.equal(configured.workflowsPath, '/app/workflows.js');
    assert.deepEqual(Object.keys(configured.activities ?? {}), ['hostActivity']);
    assert.equal(configured.maxConcurrentActivityTaskExecutions, undefined);
  });

  it("adds the queue's share to a Worker on one of our queues", () => {
    const orchestrator = worker({ taskQueue: 'hs', activities: { hostActivity } });
    assert.equal(orchestrator.workflowsPath, WORKFLOWS_PATH);
    assert.deepEqual(Object.keys(orchestrator.activities ?? {}), ['hostActivity', 'loadTask', 'decodeGraphs']);
    assert.equal(plugin.configureWorker(orchestrator).workflowsPath, WORKFLOWS_PATH, 'configured twice: no conflict with itself');
    const llm = worker({ taskQueue: 'hs-llm' });
    assert.deepEqual(Object.keys(llm.activities ?? {}), ['evaluateSystem', 'voteBaseline']);
    assert.equal(llm.maxConcurrentActivityTaskExecutions, 3);
    assert.equal(worker({ taskQueue: 'hs-llm', maxConcurrentActivityTaskExecutions: 9 }).maxConcurrentActivityTaskExecutions, 9, "the host's limit wins");
    const tuned = worker({ taskQueue: 'hs-weights', tuner: { tunerOptions: { targetMemoryUsage: 0.8, targetCpuUsage: 0.9 } } });
    assert.deepEqual(Object.keys(tuned.activities ?? {}), ['importAdapter', 'initialVelocity', 'updateAdapter', 'publishAdapter', 'unloadAdapters']);
    assert.equal(tuned.maxConcurrentActivityTaskExecutions, undefined, 'no limit next to a tuner (Temporal refuses both)');
  });

  it("refuses the host's workflows on hs, and one of our queues left out of `queues`", () => {
    assert.throws(() => worker({ taskQueue: 'hs', workflowsPath: '/app/workflows.js' }), /task queue "hs" runs only the Heterogeneous Swarms workflows; register your workflows on a Worker with your own task queue/);
    const llmOnly = new HeterogeneousSwarmsPlugin({ queues: ['hs-llm'], payloadKey: null });
    assert.throws(() => llmOnly.configureWorker({ taskQueue: 'hs-weights' }), /task queue "hs-weights", which is not in the plugin's queues \[hs-llm\]/);
  });

  it('gives a replay Worker our workflows unless the host brings its own', () => {
    assert.equal(plugin.configureReplayWorker({}).workflowsPath, WORKFLOWS_PATH);
    assert.equal(plugin.configureReplayWorker({ workflowsPath: '/app/workflows.js' }).workflowsPath, '/app/workflows.js');
    assert.equal(plugin.configureReplayWorker({}).dataConverter?.payloadCodecs?.length, 1);
  });
});
