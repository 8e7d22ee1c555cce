/**
 * A real local Temporal server for tests: the project-installed CLI via `existing-path` (never a download),
 * our search attributes registered, and the workflow bundle built once per mocha process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities';
import { createWorkers } from '../../workers/worker';
import { searchAttributeArgs, temporalBinary } from '../../scripts/dev-server';
import { startFakeOpenAi, type FakeOpenAi } from './fake-openai';

let runtimeInstalled = false;

/** Workers log only errors in tests (expected workflow failures would otherwise print stacks). */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
}

export async function startLocalTemporal(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary() },
      extraArgs: ['--log-level', 'error', ...searchAttributeArgs()],
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => console.error(m) } });
  return bundle;
}

/** Runs `fn` while workers for every queue poll the test server. */
export async function withWorkers<T>(env: TestWorkflowEnvironment, deps: ActivityDeps, fn: () => Promise<T>, options: { dataConverter?: WorkerOptions['dataConverter'] } = {}): Promise<T> {
  const workers = await createWorkers({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', deps, workflowBundle: await workflowBundle(), ...options });
  const run = (i: number): Promise<T> => (i === workers.length ? fn() : workers[i]!.runUntil(() => run(i + 1)));
  return await run(0);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hs-${prefix}-`));
}

/**
 * Mocha hooks for a suite that needs a local Temporal server and the fake OpenAI server: starts both before
 * the suite (handing them to `ready`) and stops both after it.
 */
export function useTemporalAndFake(ready: (env: TestWorkflowEnvironment, fake: FakeOpenAi) => void): void {
  let env: TestWorkflowEnvironment | undefined;
  let fake: FakeOpenAi | undefined;
  before(async () => {
    const started = await Promise.all([startLocalTemporal(), startFakeOpenAi()]);
    [env, fake] = started;
    ready(...started);
  });
  after(async () => {
    await Promise.all([env?.teardown(), fake?.close()]);
  });
}
