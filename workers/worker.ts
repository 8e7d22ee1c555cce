/**
 * The worker process: polls `hs` (workflows + cheap activities), `hs-llm` (model calls) and `hs-weights`
 * (adapter tensors), or a subset (`queues`), so that at scale each queue can run on its own hosts, each with its
 * own concurrency (HS_MAX_WORKFLOW_TASKS / HS_MAX_CACHED_WORKFLOWS, HS_MAX_EVALUATIONS, HS_MAX_WEIGHT_UPDATES).
 */
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { LLM_TASK_QUEUE, ORCHESTRATOR_TASK_QUEUE, TASK_QUEUES, WEIGHTS_TASK_QUEUE, type TaskQueue } from '../workflows/core/names';
import { dataConverterFor } from './codec';
import type { HsEnv } from './env';
import { describeTemporal, temporalConnectionOptions, unreachable } from './temporal-connection';

export type Queue = TaskQueue;
export const ALL_QUEUES: readonly Queue[] = TASK_QUEUES;

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  queues?: readonly Queue[];
  /** Max concurrent `hs-llm` evaluations (default 32). */
  maxEvaluations?: number;
  /** Max concurrent `hs-weights` activities (default 4). */
  maxWeightUpdates?: number;
  /** Max concurrent workflow tasks on `hs` (default: the SDK's, 40). */
  maxWorkflowTasks?: number;
  /** Workflow executions kept in the sticky cache on `hs` (default: the SDK's, from the memory size). */
  maxCachedWorkflows?: number;
  /** Payload codecs (encryption) for every worker; must match the clients'. */
  dataConverter?: WorkerOptions['dataConverter'];
  /** A pre-built bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export type Activities = ReturnType<typeof createActivities>;

/** What one queue's Worker registers, and how much of it runs at once. */
export type QueueShare = Pick<WorkerOptions, 'activities' | 'workflowsPath' | 'workflowBundle' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows'>;

/** The workflows' module: the `hs` queue's workflow types. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * The share of one queue: workflows + cheap activities on `hs`, model calls on `hs-llm`, tensor work on
 * `hs-weights`. The one place that says which activity polls which queue (the plugin uses it too).
 */
export function queueShare(
  queue: Queue,
  activities: Activities,
  setup: Pick<WorkerSetup, 'maxEvaluations' | 'maxWeightUpdates' | 'maxWorkflowTasks' | 'maxCachedWorkflows' | 'workflowBundle'> = {},
): QueueShare {
  switch (queue) {
    case ORCHESTRATOR_TASK_QUEUE:
      return {
        ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
        activities: { loadTask: activities.loadTask, decodeGraphs: activities.decodeGraphs },
        ...(setup.maxWorkflowTasks === undefined ? {} : { maxConcurrentWorkflowTaskExecutions: setup.maxWorkflowTasks }),
        ...(setup.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: setup.maxCachedWorkflows }),
      };
    case LLM_TASK_QUEUE:
      return { activities: { evaluateSystem: activities.evaluateSystem, voteBaseline: activities.voteBaseline }, maxConcurrentActivityTaskExecutions: setup.maxEvaluations ?? 32 };
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

/** The per-queue concurrency of `env` as `WorkerSetup` fields. */
export function concurrencyOf(env: Pick<HsEnv, 'maxEvaluations' | 'maxWeightUpdates' | 'maxWorkflowTasks' | 'maxCachedWorkflows'>): Pick<WorkerSetup, 'maxEvaluations' | 'maxWeightUpdates' | 'maxWorkflowTasks' | 'maxCachedWorkflows'> {
  return {
    maxEvaluations: env.maxEvaluations,
    maxWeightUpdates: env.maxWeightUpdates,
    maxWorkflowTasks: env.maxWorkflowTasks,
    ...(env.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: env.maxCachedWorkflows }),
  };
}

/** Runs the workers until SIGINT/SIGTERM (graceful: running activities get the grace time). */
export async function runWorkers(env: HsEnv, deps: ActivityDeps, queues?: readonly Queue[]): Promise<void> {
  const connection = await NativeConnection.connect(temporalConnectionOptions(env.temporal)).catch((e: unknown) => {
    throw unreachable(env.temporal, e);
  });
  try {
    const dataConverter = dataConverterFor(env.payloadKey);
    const workers = await createWorkers({ connection, namespace: env.namespace, deps, ...(queues ? { queues } : {}), ...concurrencyOf(env), ...(dataConverter ? { dataConverter } : {}) });
    const limits: Record<Queue, string> = {
      [ORCHESTRATOR_TASK_QUEUE]: `${env.maxWorkflowTasks} workflow tasks${env.maxCachedWorkflows === undefined ? '' : `, ${env.maxCachedWorkflows} cached`}`,
      [LLM_TASK_QUEUE]: `${env.maxEvaluations} evaluations`,
      [WEIGHTS_TASK_QUEUE]: `${env.maxWeightUpdates} weight activities`,
    };
    const polled = workers.map((w) => w.options.taskQueue);
    const identity = workers[0]?.options.identity ?? '?';
    const described = polled.map((q) => `${q} (${limits[q as Queue]})`).join(', ');
    // How it connects, never with what (no API key, no certificate).
    Runtime.instance().logger.info(`hs worker polling ${described} on ${describeTemporal(env.temporal)} as ${identity}`, {
      queues: polled,
      address: env.temporalAddress,
      namespace: env.namespace,
      identity,
      tls: env.temporal.tls !== undefined,
      apiKey: env.temporal.apiKey !== undefined,
    });
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await connection.close();
  }
}
