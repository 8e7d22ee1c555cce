/**
 * Chaos: `kill -9` the only worker (all task queues) again and again during one joint study — in the role
 * step, in the weight step, and right after each continue-as-new — starting a new one each time on the same
 * `HS_HOME`. The moments inside a step are drawn from a seeded RNG. The study must end exactly as an
 * uninterrupted run of the same seed; its ledger must hold the same evaluations (none lost, none twice);
 * only calls that were in flight at a kill may be sent again. The model API key comes from the workers'
 * environment and must never show up in what they print, crashes and retries included.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, roleStepWorkflowId, studyWorkflowId, weightStepWorkflowId } from '../../workflows/core/names';
import { createRng } from '../../workflows/core/rng';
import type { SearchReport } from '../../workflows/search.workflow';
import { answerKey, writeGgufAdapter } from '../helpers/adapters';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { meanForSkill, startFakeVllm, type FakeVllm } from '../helpers/fake-vllm';
import { jointStudy, TINY_TASK } from '../helpers/study';
import { tempDir } from '../helpers/temporal';
import { WorkerProcesses } from '../helpers/worker-processes';
import { CHAOS_FULL, comparable, comparableLedger, freeze, printScenario, resentCalls, type Crash } from './rig';

const ITERATIONS = CHAOS_FULL ? 4 : 2;
/** Endpoint latency: long enough that every step lasts a few seconds, so each moment can be caught. */
const DELAY_MS = 200;
const KEY_ENV = 'HS_CHAOS_API_KEY';
const SENTINEL = 'sk-chaos-sentinel-7f3a9c1e5b';

/** A point of the study at which to kill the worker. */
interface Moment {
  label: string;
  kind: 'role step' | 'weight step' | 'continue-as-new';
  /**
   * `'now'` once the study is at the moment; `'missed'` when it went past it unseen (a step whose every call
   * was answered from the call cache can finish within one poll); `'not yet'` otherwise.
   */
  check: () => Promise<'now' | 'missed' | 'not yet'>;
}

describe('chaos: kill -9 the worker again and again (role step, weight step, continue-as-new)', function () {
  this.timeout(900_000);
  let devServer: DevServerProcess;
  let fake: FakeVllm;
  let client: Client;
  const workers = new WorkerProcesses(() => devServer.address);
  const adapters = tempDir('wk-adapters');
  const ids = ['alpha', 'beta', 'gamma'] as const;
  const spawnWorker = (home: string) => workers.spawn(home, { env: { [KEY_ENV]: SENTINEL } });

  before(async () => {
    await Promise.all(ids.map((id, i) => writeGgufAdapter(path.join(adapters, `${id}.gguf`), meanForSkill(0.25 + 0.25 * i), 30 + i, 256)));
    devServer = await startDevServerProcess('wk');
    client = devServer.client;
    fake = await startFakeVllm({ answers: answerKey(TINY_TASK) });
    fake.setDelayMs(DELAY_MS);
  });
  after(async () => {
    await workers.stopAll();
    await devServer?.close();
    await fake?.close();
  });

  const config = (study: string): SearchConfigInput => {
    const joint = jointStudy(study, fake.baseURL, adapters, ids, {
      roleStep: { particles: 3 },
      weightStep: { assignments: 3 },
      maxIterations: ITERATIONS,
      continueAsNewEvery: 1,
      seed: 13,
      evaluation: { heartbeatTimeoutSeconds: 2 },
    });
    return { ...joint, models: joint.models.map((m) => ({ ...m, apiKeyEnv: KEY_ENV })) };
  };
  const start = (study: string) => client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config(study)] });

  /** The workflow's status (`describe` needs no worker, so it answers while none is alive); undefined before it starts. */
  const statusOf = async (workflowId: string): Promise<string | undefined> => {
    try {
      return (await client.workflow.getHandle(workflowId).describe()).status.name;
    } catch {
      return undefined;
    }
  };

  /** The kill schedule: inside every role and weight step (after a seeded number of calls) and after every continue-as-new. */
  function schedule(study: string, firstRunId: string): Moment[] {
    const rng = createRng(CHAOS_FULL ? 2027 : 2026);
    const moments: Moment[] = [];
    const inside = (kind: 'role step' | 'weight step', t: number, workflowId: string): Moment => {
      const after = rng.int(6);
      let base: number | undefined;
      return {
        label: `${kind} ${t}, ${after} call(s) in`,
        kind,
        check: async () => {
          const status = await statusOf(workflowId);
          if (status === undefined) return 'not yet';
          if (status !== 'RUNNING') return 'missed';
          base ??= fake.requests.length;
          return fake.requests.length >= base + after ? 'now' : 'not yet';
        },
      };
    };
    let runId = firstRunId;
    // Iteration 0 is the initialisation; the first run also does iteration 1, then continues as new.
    for (let t = 0; t <= ITERATIONS; t++) {
      moments.push(inside('role step', t, roleStepWorkflowId(study, t)));
      moments.push(inside('weight step', t, weightStepWorkflowId(study, t)));
      if (t >= 1 && t < ITERATIONS) {
        moments.push({
          label: `continue-as-new after iteration ${t}`,
          kind: 'continue-as-new',
          check: async () => {
            const current = (await client.workflow.getHandle(studyWorkflowId(study)).describe()).runId;
            if (current === runId) return 'not yet';
            runId = current;
            return 'now';
          },
        });
      }
    }
    return moments;
  }

  it('ends exactly as the uninterrupted study, with the same ledger, re-sending only calls in flight', async () => {
    // 1. Reference run.
    const refHome = tempDir('wk-ref');
    const reference = spawnWorker(refHome);
    const expected = await workers.resultOrCrash((await start('wk-reference')).result() as Promise<SearchReport>);
    await workers.stop(reference, 'SIGTERM');
    const referenceKeys = new Set(fake.requests.map((r) => r.key));
    assert.equal(resentCalls(fake), 0, 'an uninterrupted run sends every distinct call once');
    fake.reset();
    fake.forgetLoaded();

    // 2. The same study, killed at every moment of the schedule.
    const home = tempDir('wk-killed');
    let worker = spawnWorker(home);
    const handle = await start('wk-killed');
    const moments = schedule('wk-killed', (await handle.describe()).runId);
    const crashes: Crash[] = [];
    const kinds = new Set<Moment['kind']>();
    const missed: string[] = [];
    for (const moment of moments) {
      const seen = { at: 'not yet' as Awaited<ReturnType<Moment['check']>> };
      await workers.until(moment.label, async () => (seen.at = await moment.check()) !== 'not yet', { timeoutMs: 180_000, intervalMs: 15 });
      if (seen.at === 'missed') {
        missed.push(moment.label);
        continue;
      }
      const { inFlight, thaw } = await freeze(fake, DELAY_MS);
      const sentAtKill = fake.requests.length;
      const killedAt = Date.now();
      await workers.stop(worker, 'SIGKILL');
      thaw();
      worker = spawnWorker(home);
      await workers.until(`progress after the kill at ${moment.label}`, () => fake.requests.length > sentAtKill, { timeoutMs: 180_000 });
      crashes.push({ moment: moment.label, inFlight, recoverySeconds: (Date.now() - killedAt) / 1000 });
      kinds.add(moment.kind);
    }
    const actual = await workers.resultOrCrash(handle.result() as Promise<SearchReport>);
    const resent = resentCalls(fake);
    printScenario('worker kill -9', crashes, resent, missed.length === 0 ? '' : `; moments passed unseen: ${missed.join(', ')}`);

    assert.ok(crashes.length >= 5, `${crashes.length} kills`);
    assert.deepEqual([...kinds].sort(), ['continue-as-new', 'role step', 'weight step'], 'kills in role steps, weight steps and at continue-as-new');
    assert.deepEqual(comparable(actual), comparable(expected), 'same best system, scores, JFK-scores and trajectory as the uninterrupted run');
    assert.deepEqual(new Set(fake.requests.map((r) => r.key)), referenceKeys, 'the same distinct calls as the uninterrupted run');
    assert.ok(resent <= crashes.reduce((s, c) => s + c.inFlight, 0), `re-sent ${resent} calls; only the calls in flight at the kills may be`);
    assert.deepEqual(await comparableLedger(home, 'wk-killed'), await comparableLedger(refHome, 'wk-reference'), 'the same evaluations in the ledger: none lost, none twice');

    // The key was sent on every call, and never printed by a worker (crashes, retries and warnings included).
    assert.ok(fake.requests.every((r) => r.authorization === `Bearer ${SENTINEL}`));
    assert.ok(workers.output().length > 0, 'the workers printed their logs');
    assert.ok(!workers.output().includes(SENTINEL), 'the API key appears in no worker log');
  });
});
