/**
 * Chaos: `kill -9` the Temporal dev server in the middle of a study and start it again on the same SQLite file.
 * The worker process rides it out; the study must end exactly as an uninterrupted run with the same seed, and
 * model calls finished before the crash must not be paid again (the call cache answers the retried activities).
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { tempDir } from '../helpers/temporal';
import { WorkerProcesses } from '../helpers/worker-processes';
import { comparable, printScenario, resentCalls } from './rig';

describe('e2e chaos: kill -9 the Temporal server mid-study', function () {
  this.timeout(600_000);
  let devServer: DevServerProcess;
  let fake: FakeOpenAi;
  let client: Client;
  const workers = new WorkerProcesses(() => devServer.address);

  before(async () => {
    [devServer, fake] = await Promise.all([startDevServerProcess('ks'), startFakeOpenAi({ delayMs: 30 })]);
    client = devServer.client;
  });
  after(async () => {
    await workers.stopAll();
    await devServer?.close();
    await fake?.close();
  });

  const config = (study: string) => tinyStudy(study, fake.baseURL, { maxIterations: 3, seed: 11, evaluation: { heartbeatTimeoutSeconds: 3 } });

  it('resumes from the SQLite file with the same result and no call paid twice', async () => {
    const reference = workers.spawn(tempDir('ks-ref'));
    const expected = await workers.resultOrCrash(
      (await client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId('ks-reference'), args: [config('ks-reference')] })).result() as Promise<SearchReport>,
    );
    await workers.stop(reference, 'SIGTERM');
    const referenceCalls = fake.requests.length;
    fake.reset();

    workers.spawn(tempDir('ks-home'));
    await client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId('ks-killed'), args: [config('ks-killed')] });
    await workers.until('the study to be half-way', () => fake.requests.length >= Math.floor(referenceCalls / 2));
    const inFlight = fake.inFlight;
    const killedAt = Date.now();
    await devServer.kill('SIGKILL');
    const sentAtKill = fake.requests.length;
    await new Promise((r) => setTimeout(r, 2_000)); // down for a while: the worker keeps polling
    await devServer.restart();
    await workers.until('the study to make progress after the restart', () => fake.requests.length > sentAtKill, { timeoutMs: 180_000 });
    const recoverySeconds = (Date.now() - killedAt) / 1000;
    const actual = await workers.resultOrCrash(client.workflow.getHandle(studyWorkflowId('ks-killed')).result() as Promise<SearchReport>);

    const resent = resentCalls(fake);
    printScenario('Temporal server kill -9, down 2 s, restarted on its SQLite file', [{ moment: `${sentAtKill}/${referenceCalls} calls`, inFlight, recoverySeconds }], resent);
    assert.deepEqual(comparable(actual), comparable(expected), 'same best system, scores and trajectory as without the crash');
    assert.ok(resent <= inFlight, `re-sent ${resent} calls, but only ${inFlight} were in flight at the kill`);
  });
});
