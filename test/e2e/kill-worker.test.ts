/**
 * Process-level durability: a dev server (SQLite file) and worker processes; `kill -9` the worker in the
 * middle of a study, start a new one, and check the study ends with the same best graph and score as an
 * uninterrupted run with the same seed — and that completed model calls were not sent again.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { tempDir } from '../helpers/temporal';
import { WorkerProcesses } from '../helpers/worker-processes';

describe('e2e: kill -9 the worker mid-iteration', function () {
  this.timeout(600_000);
  let devServer: DevServerProcess;
  let fake: FakeOpenAi;
  let client: Client;
  const workers = new WorkerProcesses(() => devServer.address);
  const spawnWorker = (home: string): ChildProcess => workers.spawn(home);
  const stopWorker = (child: ChildProcess, signal: NodeJS.Signals): Promise<void> => workers.stop(child, signal);
  const until = (what: string, predicate: () => boolean): Promise<void> => workers.until(what, predicate);
  const resultOrCrash = <T>(result: Promise<T>): Promise<T> => workers.resultOrCrash(result);

  before(async () => {
    [devServer, fake] = await Promise.all([startDevServerProcess('e2e'), startFakeOpenAi({ delayMs: 30 })]);
    client = devServer.client;
  });

  after(async () => {
    await workers.stopAll();
    await devServer?.close();
    await fake?.close();
  });

  const config = (study: string) => tinyStudy(study, fake.baseURL, { maxIterations: 3, seed: 11, evaluation: { heartbeatTimeoutSeconds: 3 } });
  const startStudy = (study: string) =>
    client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config(study)] });

  it('finishes with the same best system and re-sends no completed call', async () => {
    // 1. Reference: an uninterrupted run (its own cache).
    const reference = spawnWorker(tempDir('home-ref'));
    const refHandle = await startStudy('e2e-reference');
    const expected = await resultOrCrash(refHandle.result() as Promise<SearchReport>);
    await stopWorker(reference, 'SIGTERM');
    const referenceRequests = fake.requests.length;
    const referenceKeys = new Set(fake.requests.map((r) => r.key));
    assert.equal(referenceKeys.size, referenceRequests, 'an uninterrupted run sends every distinct call once');
    fake.reset();

    // 2. The same study (same seed) with a kill -9 of the worker in the middle.
    const home = tempDir('home-kill');
    const first = spawnWorker(home);
    const handle = await startStudy('e2e-killed');
    await until('the study to be half-way', () => fake.requests.length >= Math.floor(referenceRequests / 2));
    // Freeze the endpoint so the calls in flight at the kill are exactly countable: calls already answered
    // finish (and reach the cache), every new call stalls; then kill -9.
    fake.setDelayMs(10_000);
    await new Promise((r) => setTimeout(r, 500));
    const inFlightAtKill = fake.inFlight;
    const sentBeforeKill = fake.requests.length;
    const killedAt = Date.now();
    await stopWorker(first, 'SIGKILL');
    fake.setDelayMs(30);
    spawnWorker(home);
    await until('the new worker to call the model', () => fake.requests.length > sentBeforeKill);
    const recoverySeconds = (Date.now() - killedAt) / 1000;
    const actual = await resultOrCrash(handle.result() as Promise<SearchReport>);

    const keys = fake.requests.map((r) => r.key);
    const resent = keys.length - new Set(keys).size;
    console.log(
      `      kill -9 at ${sentBeforeKill}/${referenceRequests} calls; ${inFlightAtKill} in flight; ` +
        `recovered in ${recoverySeconds.toFixed(1)} s; ${resent} call(s) re-sent; ${keys.length} calls in all`,
    );
    const comparable = (r: SearchReport) => ({ best: { ...r.best, transcripts: null }, summaries: r.summaries, iterations: r.iterations, stoppedBy: r.stoppedBy });
    assert.deepEqual(comparable(actual), comparable(expected), 'same best graph, scores and trajectory as the uninterrupted run');
    assert.equal(new Set(keys).size, referenceKeys.size, 'the same distinct calls as the uninterrupted run');
    assert.ok(resent <= inFlightAtKill, `re-sent ${resent} calls but only ${inFlightAtKill} were in flight at the kill`);
  });
});
