/**
 * `HeterogeneousSwarmsPlugin` — Heterogeneous Swarms inside a host application's own Temporal Client and
 * Worker, one line each (a `SimplePlugin` of `@temporalio/plugin`):
 *
 *   const hs = new HeterogeneousSwarmsPlugin();              // options default to the HS_* environment
 *   const client = new Client({ connection, plugins: [hs] }); // + our payload codec when HS_PAYLOAD_KEY is set
 *   const worker = await Worker.create({ connection, taskQueue: 'my-app', workflowsPath, plugins: [hs] });
 *
 * Task queues. Our workflows run on `hs`, model calls on `hs-llm`, tensor work on `hs-weights` (durable names
 * the workflows route to), and a Worker polls one queue. So:
 *  - a host Worker on its own queue keeps its workflows and activities; only the data converter changes;
 *  - a host Worker on one of our queues gets that queue's share added (`queueShare`, as `hs worker`);
 *  - while the host Worker runs, the plugin runs one Worker for each other queue of `queues` (default: all
 *    three) on the same connection, namespace and data converter, and stops them when it stops.
 * So one host Worker serves everything; `queues: ['hs-llm']` makes a model-calling host, and `queues: []` a
 * host that only starts and watches studies while `hs worker` processes do the work.
 *
 * This file is the plugin's single entry point: it also exports what a host needs to start and watch studies.
 */
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { SimplePlugin } from '@temporalio/plugin';
import type { ReplayWorkerOptions, Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { ORCHESTRATOR_TASK_QUEUE, TASK_QUEUES } from '../workflows/core/names';
import { createAesGcmCodec } from './codec';
import { createRealDeps } from './deps';
import { parsePluginOptions, type HeterogeneousSwarmsPluginOptions, type PluginSettings } from './plugin-options';
import { createQueueWorkers, queueShare, WORKFLOWS_PATH, type Activities } from './worker';

export type { HeterogeneousSwarmsPluginOptions } from './plugin-options';
export { LLM_TASK_QUEUE, ORCHESTRATOR_TASK_QUEUE, WEIGHTS_TASK_QUEUE, studyWorkflowId } from '../workflows/core/names';
export type { SearchConfigInput } from '../workflows/core/config';
export type { SearchReport } from '../workflows/search.workflow';
export { configureUpdate, particlesQuery, pauseSignal, resumeSignal, seedUpdate, statusQuery, stopUpdate } from '../workflows/messages';

export const PLUGIN_NAME = 'heterogeneous-swarms';

/** The host's data converter with our codec appended: the host's own codecs (e.g. compression) run first. */
function withCodec(existing: DataConverter | undefined, codec: PayloadCodec): DataConverter {
  const codecs = existing?.payloadCodecs ?? [];
  return { ...existing, payloadCodecs: codecs.includes(codec) ? codecs : [...codecs, codec] };
}

/** Runs the host Worker and the others together; the first to stop (shutdown or failure) stops the rest. */
async function runAlongside(runHost: () => Promise<void>, host: Worker, others: readonly Worker[]): Promise<void> {
  const stopAll = (): void => {
    for (const w of [host, ...others]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const results = await Promise.allSettled([runHost(), ...others.map((w) => w.run())].map((p) => p.finally(stopAll)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export class HeterogeneousSwarmsPlugin extends SimplePlugin {
  /** The validated options, defaults applied; the payload key lives only inside the codec (never printed). */
  readonly settings: Omit<PluginSettings, 'payloadKey'>;
  private readonly activities: Activities;
  /** The other queues' Workers run beside one host Worker at a time. */
  private othersRunning = false;

  constructor(options: HeterogeneousSwarmsPluginOptions = {}) {
    const { payloadKey, ...settings } = parsePluginOptions(options);
    const codec = payloadKey === undefined ? undefined : createAesGcmCodec(payloadKey);
    super({ name: PLUGIN_NAME, ...(codec ? { dataConverter: (existing: DataConverter | undefined) => withCodec(existing, codec) } : {}) });
    this.settings = settings;
    this.activities = createActivities(createRealDeps(settings));
  }

  override configureWorker(options: WorkerOptions): WorkerOptions {
    const configured = super.configureWorker(options);
    const queue = TASK_QUEUES.find((q) => q === configured.taskQueue);
    if (queue === undefined) return configured;
    if (!this.settings.queues.includes(queue)) {
      throw new Error(`HeterogeneousSwarmsPlugin: a Worker on task queue "${queue}", which is not in the plugin's queues [${this.settings.queues.join(', ')}]; add it to \`queues\` or use your own task queue`);
    }
    const share = queueShare(queue, this.activities, this.settings);
    const ownWorkflows = (configured.workflowsPath ?? configured.workflowBundle) !== undefined;
    const ours = configured.workflowsPath === share.workflowsPath && configured.workflowBundle === share.workflowBundle;
    if (queue === ORCHESTRATOR_TASK_QUEUE && ownWorkflows && !ours) {
      throw new Error(`HeterogeneousSwarmsPlugin: task queue "${queue}" runs only the Heterogeneous Swarms workflows; register your workflows on a Worker with your own task queue (the plugin serves "${queue}" beside it)`);
    }
    const { maxConcurrentActivityTaskExecutions: limit, ...registered } = share;
    return {
      ...configured,
      ...registered,
      activities: { ...configured.activities, ...registered.activities },
      // The host's own limit or tuner wins (Temporal refuses both at once).
      ...(configured.tuner === undefined && configured.maxConcurrentActivityTaskExecutions === undefined && limit !== undefined ? { maxConcurrentActivityTaskExecutions: limit } : {}),
    };
  }

  /** Replaying our histories needs our workflows: added when the host gives none of its own. */
  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    const configured = super.configureReplayWorker(options);
    if (configured.workflowsPath !== undefined || configured.workflowBundle !== undefined) return configured;
    const bundle = this.settings.workflowBundle;
    return { ...configured, ...(bundle ? { workflowBundle: bundle } : { workflowsPath: WORKFLOWS_PATH }) };
  }

  override async runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    const others = this.settings.queues.filter((q) => q !== worker.options.taskQueue);
    const connection = worker.connection;
    if (others.length === 0 || this.othersRunning || connection === undefined) return await super.runWorker(worker, next);
    this.othersRunning = true;
    try {
      const workers = await createQueueWorkers(
        {
          connection,
          namespace: worker.options.namespace,
          queues: others,
          maxEvaluations: this.settings.maxEvaluations,
          maxWeightUpdates: this.settings.maxWeightUpdates,
          ...(worker.options.dataConverter ? { dataConverter: worker.options.dataConverter } : {}),
          ...(this.settings.workflowBundle ? { workflowBundle: this.settings.workflowBundle } : {}),
        },
        this.activities,
      );
      await runAlongside(() => super.runWorker(worker, next), worker, workers);
    } finally {
      this.othersRunning = false;
    }
  }
}
