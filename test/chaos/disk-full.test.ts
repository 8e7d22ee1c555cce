/**
 * Chaos: the worker's store (`HS_HOME`: call cache, blobs, ledger) runs out of space in the middle of a study,
 * stays full for a while, then gets space back. The store is a small tmpfs filled with a filler file — a real
 * ENOSPC — when the test may mount one (root); otherwise its directories are made read-only (EACCES). Every
 * activity that needs the store fails with a retryable `StoreUnavailable`; evaluations check the store before
 * paying for calls, so retries while it is full send no call; once space is back the study resumes and ends
 * exactly as an uninterrupted run, with the same ledger. Only calls whose answers could not be kept — in
 * flight when the disk filled, or sent by an evaluation that had just passed its store check — are sent again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { tempDir } from '../helpers/temporal';
import { WorkerProcesses } from '../helpers/worker-processes';
import { comparable, comparableLedger, freeze, printScenario, resentCalls } from './rig';

const DELAY_MS = 30;

/** A store directory that can be made unusable and given back. */
interface Outage {
  /** How the store fails: "ENOSPC (full tmpfs)" or "EACCES (read-only)". */
  errno: 'ENOSPC' | 'EACCES';
  describe: string;
  begin(): void;
  end(): void;
  close(): void;
}

/** Fills the file system of `dir` with one file, first in large then in page-sized writes. */
function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0xa5);
      try {
        for (;;) fs.writeSync(fd, chunk);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Every directory below `dir`, `dir` included. */
function dirsUnder(dir: string): string[] {
  return [dir, ...fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? dirsUnder(path.join(dir, e.name)) : []))];
}

/** A real full disk when a tmpfs can be mounted (root), else read-only directories (non-root); undefined if neither works. */
function storeOutage(dir: string): Outage | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', dir], { stdio: 'ignore' });
    const filler = path.join(dir, 'filler');
    return {
      errno: 'ENOSPC',
      describe: 'a 32 MiB tmpfs filled up (ENOSPC)',
      begin: () => fillDisk(filler),
      end: () => fs.rmSync(filler),
      close: () => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }),
    };
  } catch {
    if (process.getuid?.() === 0) return undefined; // root ignores permissions: nothing left to try
    const chmodAll = (mode: number) => dirsUnder(dir).forEach((d) => fs.chmodSync(d, mode));
    return { errno: 'EACCES', describe: 'store directories made read-only (EACCES)', begin: () => chmodAll(0o555), end: () => chmodAll(0o755), close: () => chmodAll(0o755) };
  }
}

describe('chaos: the store runs out of space mid-study', function () {
  this.timeout(600_000);
  let devServer: DevServerProcess;
  let fake: FakeOpenAi;
  let client: Client;
  let outage: Outage | undefined;
  const workers = new WorkerProcesses(() => devServer.address);

  before(async () => {
    [devServer, fake] = await Promise.all([startDevServerProcess('df'), startFakeOpenAi({ delayMs: DELAY_MS })]);
    client = devServer.client;
  });
  after(async () => {
    await workers.stopAll();
    outage?.close();
    await devServer?.close();
    await fake?.close();
  });

  const config = (study: string) => tinyStudy(study, fake.baseURL, { maxIterations: 3, seed: 17, evaluation: { heartbeatTimeoutSeconds: 3 } });
  const start = (study: string) => client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config(study)] });

  it('fails retryably while full, sends no call, and resumes to the same study once space is back', async function () {
    const refHome = tempDir('df-ref');
    const reference = workers.spawn(refHome);
    const expected = await workers.resultOrCrash((await start('df-reference')).result() as Promise<SearchReport>);
    await workers.stop(reference, 'SIGTERM');
    const referenceCalls = fake.requests.length;
    fake.reset();

    const home = tempDir('df-home');
    outage = storeOutage(home);
    if (outage === undefined) {
      console.log('      [chaos] disk full: skipped — running as root without permission to mount a tmpfs');
      this.skip();
    }
    const full = outage;
    workers.spawn(home);
    const handle = await start('df-full');
    await workers.until('the study to be half-way', () => fake.requests.length >= Math.floor(referenceCalls / 2));

    // The disk fills while calls are in flight: their answers cannot be kept.
    const { inFlight, thaw } = await freeze(fake, DELAY_MS);
    full.begin();
    const fullAt = Date.now();
    thaw();
    const sentAtFull = fake.requests.length;
    await workers.until('a StoreUnavailable failure in the worker log', () => workers.output().includes(full.errno), { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1_000)); // the evaluations that were running fail too
    // Evaluations already past their store check when the disk filled may still send calls; retries never do.
    const racing = fake.requests.length - sentAtFull;
    await new Promise((r) => setTimeout(r, 4_000)); // stays full through a few retries
    const sentWhileFull = fake.requests.length - sentAtFull - racing;
    const freedAt = Date.now();
    const sentAtFree = fake.requests.length;
    full.end();
    await workers.until('progress once space is back', () => fake.requests.length > sentAtFree, { timeoutMs: 180_000 });
    const recoverySeconds = (Date.now() - freedAt) / 1000;
    const actual = await workers.resultOrCrash(handle.result() as Promise<SearchReport>);
    const resent = resentCalls(fake);
    const failures = workers.output().split(full.errno).length - 1;
    printScenario(
      `store full: ${full.describe}`,
      [{ moment: `${sentAtFull}/${referenceCalls} calls, full for ${((freedAt - fullAt) / 1000).toFixed(1)} s`, inFlight, recoverySeconds }],
      resent,
      `; ${failures} ${full.errno} failures logged; ${racing} calls sent by evaluations already past their store check; ${sentWhileFull} by retries while full`,
      'outages survived',
    );

    assert.equal(sentWhileFull, 0, 'a retry pays no call while the store cannot keep its answer');
    assert.deepEqual(comparable(actual), comparable(expected), 'same best system, scores and trajectory as without the outage');
    assert.ok(resent <= inFlight + racing, `re-sent ${resent} calls; only the ${inFlight} in flight when the disk filled and the ${racing} sent just after may be`);
    assert.deepEqual(await comparableLedger(home, 'df-full'), await comparableLedger(refHome, 'df-reference'), 'the same evaluations in the ledger');
  });
});
