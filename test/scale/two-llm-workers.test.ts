/**
 * Scale-out: one joint study (role step + weight step) run by separate processes — the Temporal dev server, one
 * orchestrator worker (`hs worker --queues hs,hs-weights`) and TWO LLM workers (`hs worker --queues hs-llm`), all
 * on one HS_HOME — against a fake vLLM with latency. Each LLM worker takes one evaluation at a time
 * (HS_MAX_EVALUATIONS=1), so the second worker's poll gets work while the first is busy.
 *
 * Proof that both LLM workers evaluated: the histories of every workflow of the study name, for each
 * `evaluateSystem` activity, the identity (`<pid>@<host>`) of the worker that ran it; these must be exactly the
 * two LLM workers' identities, each with work. And the study must end exactly as with ONE LLM worker (same seed,
 * its own HS_HOME): same report, same ledger.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, roleStepWorkflowId, studyWorkflowId, weightStepWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { comparable, comparableLedger, resentCalls } from '../chaos/rig';
import { answerKey, writeGgufAdapter } from '../helpers/adapters';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { meanForSkill, startFakeVllm, type FakeVllm } from '../helpers/fake-vllm';
import { jointStudy, TINY_TASK } from '../helpers/study';
import { tempDir } from '../helpers/temporal';
import { WorkerProcesses } from '../helpers/worker-processes';

/** Endpoint latency per call: an evaluation lasts long enough for the other LLM worker to poll. */
const DELAY_MS = 40;
const ITERATIONS = 1;
const LLM_WORKER_ENV = { HS_MAX_EVALUATIONS: '1' };

/** The identity the SDK gives a worker process by default. */
const identityOf = (child: ChildProcess): string => `${child.pid}@${os.hostname()}`;

/**
 * For every `evaluateSystem` activity in the histories of `workflowIds` (latest run of each), the identity of the
 * worker that ran it (from its ActivityTaskStarted event).
 */
async function evaluationIdentities(client: Client, workflowIds: readonly string[]): Promise<string[]> {
  const identities: string[] = [];
  for (const workflowId of workflowIds) {
    const history = await client.workflow
      .getHandle(workflowId)
      .fetchHistory()
      .catch((error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return undefined; // e.g. no weight step after the last role step
        throw error;
      });
    if (history === undefined) continue;
    const evaluations = new Set<string>();
    for (const event of history.events ?? []) {
      if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'evaluateSystem') evaluations.add(String(event.eventId));
      const started = event.activityTaskStartedEventAttributes;
      if (started && evaluations.has(String(started.scheduledEventId))) identities.push(started.identity ?? '');
    }
  }
  return identities;
}

const tally = (xs: readonly string[]): Map<string, number> => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());

describe('scale-out: one orchestrator worker and two LLM worker processes on one HS_HOME', function () {
  this.timeout(240_000);
  let devServer: DevServerProcess;
  let fake: FakeVllm;
  const workers = new WorkerProcesses(() => devServer.address);
  const adapters = tempDir('scale-adapters');
  const ids = ['alpha', 'beta', 'gamma'] as const;

  before(async () => {
    await Promise.all(ids.map((id, i) => writeGgufAdapter(path.join(adapters, `${id}.gguf`), meanForSkill(0.3 + 0.2 * i), 40 + i)));
    [devServer, fake] = await Promise.all([startDevServerProcess('scale'), startFakeVllm({ answers: answerKey(TINY_TASK) })]);
    fake.setDelayMs(DELAY_MS);
  });
  after(async () => {
    await workers.stopAll();
    await devServer?.close();
    await fake?.close();
  });

  const config = (study: string): SearchConfigInput =>
    jointStudy(study, fake.baseURL, adapters, ids, {
      roleStep: { particles: 4 },
      weightStep: { assignments: 4 },
      maxIterations: ITERATIONS,
      seed: 29,
      evaluation: { heartbeatTimeoutSeconds: 5 },
    });

  /** Starts the study and returns its report and how long it ran, failing at once if a worker dies. */
  const run = async (study: string): Promise<{ report: SearchReport; seconds: number }> => {
    const started = Date.now();
    const handle = await devServer.client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config(study)] });
    const report = await workers.resultOrCrash(handle.result() as Promise<SearchReport>);
    return { report, seconds: (Date.now() - started) / 1000 };
  };

  /** Every workflow of the study: the parent (its final test evaluation) and every role and weight step. */
  const studyWorkflows = (study: string, report: SearchReport): string[] => [
    studyWorkflowId(study),
    ...Array.from({ length: report.iterations + 1 }, (_, t) => [roleStepWorkflowId(study, t), weightStepWorkflowId(study, t)]).flat(),
  ];

  it('both LLM workers evaluate, and the study ends exactly as with one LLM worker', async () => {
    // 1. Reference: one orchestrator worker and ONE LLM worker, on their own HS_HOME.
    const refHome = tempDir('scale-one');
    const refProcesses = [workers.spawn(refHome, { queues: 'hs,hs-weights' }), workers.spawn(refHome, { queues: 'hs-llm', env: LLM_WORKER_ENV })];
    await Promise.all(refProcesses.map((p) => workers.polling(p)));
    const { report: expected, seconds: oneSeconds } = await run('scale-one');
    const oneIdentities = tally(await evaluationIdentities(devServer.client, studyWorkflows('scale-one', expected)));
    await Promise.all(refProcesses.map((p) => workers.stop(p, 'SIGTERM')));
    const oneCalls = fake.requests.length;
    assert.equal(resentCalls(fake), 0, 'one LLM worker sends every distinct call once');
    fake.reset();
    fake.forgetLoaded();

    // 2. The same study with TWO LLM worker processes, all three workers on one fresh HS_HOME.
    const home = tempDir('scale-two');
    const orchestrator = workers.spawn(home, { queues: 'hs,hs-weights' });
    const llm = [workers.spawn(home, { queues: 'hs-llm', env: LLM_WORKER_ENV }), workers.spawn(home, { queues: 'hs-llm', env: LLM_WORKER_ENV })] as const;
    const lines = await Promise.all([orchestrator, ...llm].map((p) => workers.polling(p)));
    assert.match(lines[0]!, /polling hs \(40 workflow tasks\), hs-weights \(4 weight activities\) on 127\.0\.0\.1:\d+ \(namespace default; plain TCP\)/);
    for (const line of lines.slice(1)) assert.match(line, /polling hs-llm \(1 evaluations\)/);
    const { report: actual, seconds: twoSeconds } = await run('scale-two');
    const identities = await evaluationIdentities(devServer.client, studyWorkflows('scale-two', actual));
    const byWorker = tally(identities);
    const resent = resentCalls(fake);
    console.log(
      `      [scale] evaluations per LLM worker: one worker ${[...oneIdentities.values()].join()}; two workers ${llm.map((p) => byWorker.get(identityOf(p)) ?? 0).join(' + ')}` +
        `; calls ${oneCalls} vs ${fake.requests.length} (${resent} identical calls in flight on both workers at once, sent twice)` +
        `; study ${oneSeconds.toFixed(1)} s vs ${twoSeconds.toFixed(1)} s`,
    );

    // Both LLM workers did work, and only they ran evaluations.
    assert.deepEqual([...byWorker.keys()].sort(), llm.map(identityOf).sort(), 'evaluations ran on exactly the two LLM worker processes');
    for (const p of llm) assert.ok((byWorker.get(identityOf(p)) ?? 0) >= 1, `LLM worker ${identityOf(p)} ran no evaluation`);
    const ledger = await comparableLedger(home, 'scale-two');
    assert.equal(identities.length, ledger.length, 'every evaluation of the ledger was found in the histories');
    assert.equal(identities.length, [...oneIdentities.values()].reduce((a, b) => a + b, 0), 'as many evaluations as with one LLM worker');
    assert.ok(fake.loads.length > 0, 'the weight step published adapter versions (hs-weights on the orchestrator worker)');

    // Same study as with one LLM worker: best system, scores, JFK-scores, trajectory, and the same evaluations.
    assert.deepEqual(comparable(actual), comparable(expected));
    assert.deepEqual(ledger, await comparableLedger(refHome, 'scale-one'), 'the same evaluations in the shared ledger: none lost, none twice');
  });
});
