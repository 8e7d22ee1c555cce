/**
 * Process-level durability of the weight step: the dev server (SQLite file), a workflow+LLM worker process and
 * a separate weights worker process (`--queues hs-weights`) sharing one store. The weights worker is killed
 * with -9 while it is writing adapter tensors; a new one takes over. The study must end exactly as an
 * uninterrupted run with the same seed, every blob and every published adapter must hash to its name
 * (atomic writes, hashes verified on read), and the interrupted files must never have become blobs.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@temporalio/client';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId, weightStepWorkflowId } from '../../workflows/core/names';
import { statusQuery } from '../../workflows/messages';
import type { SearchReport } from '../../workflows/search.workflow';
import { answerKey, writeGgufAdapter } from '../helpers/adapters';
import { meanForSkill, startFakeVllm, type FakeVllm } from '../helpers/fake-vllm';
import { jointStudy, TINY_TASK } from '../helpers/study';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { tempDir } from '../helpers/temporal';
import { WorkerProcesses } from '../helpers/worker-processes';
import { comparable, printScenario } from './rig';

/** 8·WIDTH float32 per adapter: 16 MiB files, so an update takes long enough to be killed in the middle. */
const WIDTH = 1 << 19;

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Every file below `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('e2e: kill -9 the weights worker mid-update', function () {
  this.timeout(600_000);
  let devServer: DevServerProcess;
  let fake: FakeVllm;
  let client: Client;
  const workers = new WorkerProcesses(() => devServer.address);
  const adapters = tempDir('kw-adapters');
  const ids = ['alpha', 'beta', 'gamma'] as const;
  const spawnWorker = (home: string, queues: string): ChildProcess => workers.spawn(home, { queues });
  const stop = (child: ChildProcess, signal: NodeJS.Signals): Promise<void> => workers.stop(child, signal);

  before(async () => {
    await Promise.all(ids.map((id, i) => writeGgufAdapter(path.join(adapters, `${id}.gguf`), meanForSkill(0.2 + 0.3 * i), 10 + i, WIDTH)));
    devServer = await startDevServerProcess('kw');
    client = devServer.client;
    fake = await startFakeVllm({ answers: answerKey(TINY_TASK), initial: Object.fromEntries(ids.map((id) => [`fake-${id}`, path.join(adapters, `${id}.gguf`)])) });
  });
  after(async () => {
    await workers.stopAll();
    await devServer?.close();
    await fake?.close();
  });

  const config = (study: string): SearchConfigInput =>
    jointStudy(study, fake.baseURL, adapters, ids, {
      roleStep: { particles: 2 },
      weightStep: { assignments: 2 },
      maxIterations: 2,
      seed: 5,
      evaluation: { heartbeatTimeoutSeconds: 3 },
    });
  const run = (study: string) => client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config(study)] });

  it('resumes the update, corrupts no adapter and ends as the uninterrupted study', async () => {
    // 1. Reference run with its own store.
    const refHome = tempDir('kw-ref');
    const refWorkers = [spawnWorker(refHome, 'hs,hs-llm'), spawnWorker(refHome, 'hs-weights')];
    const expected = await workers.resultOrCrash((await run('kw-reference')).result() as Promise<SearchReport>);
    await Promise.all(refWorkers.map((w) => stop(w, 'SIGTERM')));

    // 2. Same study; kill -9 the weights worker while it writes the iteration-1 adapters.
    const home = tempDir('kw-kill');
    const scratch = path.join(home, 'blobs', 'scratch');
    spawnWorker(home, 'hs,hs-llm');
    const weightsWorker = spawnWorker(home, 'hs-weights');
    const handle = await run('kw-killed');
    const weightStep1 = weightStepWorkflowId('kw-killed', 1);
    await workers.until('the weight step of iteration 1', async () => (await handle.query(statusQuery)).currentStep === weightStep1, { timeoutMs: 120_000, intervalMs: 10 });
    const seenBefore = new Set(filesUnder(scratch));
    await workers.until('an adapter being written', () => filesUnder(scratch).some((f) => !seenBefore.has(f)), { timeoutMs: 60_000, intervalMs: 1 });
    await stop(weightsWorker, 'SIGKILL');
    const killedAt = Date.now();
    const partial = filesUnder(scratch).filter((f) => !seenBefore.has(f));
    const loadsAtKill = fake.loads.length;
    spawnWorker(home, 'hs-weights');
    await workers.until('a new adapter version published', () => fake.loads.length > loadsAtKill, { timeoutMs: 120_000, intervalMs: 20 });
    const recoverySeconds = (Date.now() - killedAt) / 1000;
    const actual = await workers.resultOrCrash(handle.result() as Promise<SearchReport>);
    printScenario(
      'weights worker kill -9 mid-update',
      [{ moment: `weight step 1, ${partial.length} adapter file(s) half-written`, inFlight: 0, recoverySeconds }],
      0,
      ' (no model calls on this queue)',
    );
    assert.ok(partial.length > 0, 'the kill happened while adapter files were being written');

    // Same study as without the kill.
    assert.deepEqual(comparable(actual), comparable(expected));
    // Every blob hashes to its name; no half-written file became a blob or a published adapter.
    const blobs = filesUnder(path.join(home, 'blobs', 'sha256'));
    assert.ok(blobs.length > 10);
    for (const file of blobs) {
      const stored = readFileSync(file);
      const bytes = stored[0] === 0x1f && stored[1] === 0x8b ? gunzipSync(stored) : stored;
      assert.equal(sha256(bytes), path.basename(file), `blob ${file} is intact`);
    }
    for (const file of filesUnder(path.join(home, 'adapters', 'versions'))) {
      assert.ok(file.endsWith('.gguf'), `only complete adapters are published (${file})`);
      assert.equal(sha256(readFileSync(file)), path.basename(file, '.gguf'), `published adapter ${file} is intact`);
      assert.equal(statSync(file).size, statSync(path.join(adapters, 'alpha.gguf')).size);
    }
  });
});
