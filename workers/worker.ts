/**
 * The worker process: polls `hs` (workflows + cheap activities), `hs-llm` (model calls) and `hs-weights`
 * (adapter tensors), or a subset
 * (`queues`), so that at scale each queue can run on its own hosts.
 */
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { LLM_TASK_QUEUE, ORCHESTRATOR_TASK_QUEUE, TASK_QUEUES, WEIGHTS_TASK_QUEUE, type TaskQueue } from '../workflows/core/names';
import { dataConverterFor } from './codec';
import type { HsEnv } from './env';

export type Queue = TaskQueue;
export const ALL_QUEUES: readonly Queue[] = TASK_QUEUES;

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  queues?: readonly Queue[];
  maxEvaluations?: number;
  /** Max concurrent `hs-weights` activities (default 4). */
  maxWeightUpdates?: number;
  /** Payload codecs (encryption) for every worker; must match the clients'. */
  dataConverter?: WorkerOptions['dataConverter'];
  /** A pre-built bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export type Activities = ReturnType<typeof createActivities>;

/** What one queue's Worker registers, and how much of it runs at once. */
export type QueueShare = Pick<WorkerOptions, 'activities' | 'workflowsPath' | 'workflowBundle' | 'maxConcurrentActivityTaskExecutions'>;

/** The workflows' module: the `hs` queue's workflow types. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * The share of one queue: workflows + cheap activities on `hs`, model calls on `hs-llm`, tensor work on
 * `hs-weights`. The one place that says which activity polls which queue (the plugin uses it too).
 */
export function queueShare(queue: Queue, activities: Activities, setup: Pick<WorkerSetup, 'maxEvaluations' | 'maxWeightUpdates' | 'workflowBundle'> = {}): QueueShare {
  switch (queue) {
    case ORCHESTRATOR_TASK_QUEUE:
      return {
        ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
        activities: { loadTask: activities.loadTask, decodeGraphs: activities.decodeGraphs },
      };
    case LLM_TASK_QUEUE:
      return { activities: { evaluateSystem: activities.evaluateSystem }, maxConcurrentActivityTaskExecutions: setup.maxEvaluations ?? 32 };
    case WEIGHTS_TASK_QUEUE: {
      const { importAdapter, initialVelocity, updateAdapter, publishAdapter, unloadAdapters } = activities;
      return {
        activities: { importAdapter, initialVelocity, updateAdapter, publishAdapter, unloadAdapters },
        // Tensor work is memory-bound: a few updates at once saturate a host.
        maxConcurrentActivityTaskExecutions: setup.maxWeightUpdates ?? 4,
      };
    }
  }
}

/** Creates one Worker per queue, in the order of ALL_QUEUES. */
export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  return await createQueueWorkers(setup, createActivities(setup.deps));
}

/** Creates one Worker per queue of `setup.queues` over already-built activities. */
export async function createQueueWorkers(setup: Omit<WorkerSetup, 'deps'>, activities: Activities): Promise<Worker[]> {
  const queues = ALL_QUEUES.filter((q) => (setup.queues ?? ALL_QUEUES).includes(q));
  const workers: Worker[] = [];
  for (const queue of queues) {
    workers.push(
      await Worker.create({
        connection: setup.connection,
        namespace: setup.namespace,
        shutdownGraceTime: '10 seconds',
        ...(setup.dataConverter ? { dataConverter: setup.dataConverter } : {}),
        taskQueue: queue,
        ...queueShare(queue, activities, setup),
      }),
    );
  }
  return workers;
}

/** Runs the workers until SIGINT/SIGTERM (graceful: running activities get the grace time). */
export async function runWorkers(env: HsEnv, deps: ActivityDeps, queues?: readonly Queue[]): Promise<void> {
  const connection = await NativeConnection.connect({ address: env.temporalAddress }).catch((e: unknown) => {
    throw new Error(`cannot reach Temporal at ${env.temporalAddress} (${e instanceof Error ? e.message : String(e)}); start it with \`npx hs server start\` or set TEMPORAL_ADDRESS`);
  });
  try {
    const dataConverter = dataConverterFor(env.payloadKey);
    const workers = await createWorkers({ connection, namespace: env.namespace, deps, ...(queues ? { queues } : {}), maxEvaluations: env.maxEvaluations, ...(dataConverter ? { dataConverter } : {}) });
    const polled = workers.map((w) => w.options.taskQueue);
    Runtime.instance().logger.info(`hs worker polling ${polled.join(', ')} on ${env.temporalAddress} (namespace ${env.namespace})`, { queues: polled, address: env.temporalAddress, namespace: env.namespace });
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await connection.close();
  }
}
