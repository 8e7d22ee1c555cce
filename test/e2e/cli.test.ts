/**
 * The command line as a user types it: `hs server start|status|stop` (SQLite file, restart survives),
 * `hs validate`, `hs worker`, `hs start --wait`, `hs status|stop|result|configure|particles`, and the verbatim
 * `temporal workflow start --type swarmSearch --task-queue hs --workflow-id hs/<study> --input-file <config>`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, temporalBinary } from '../../scripts/dev-server';
import type { SearchReport } from '../../workflows/search.workflow';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { tempDir } from '../helpers/temporal';

const REPO = path.resolve(__dirname, '../..');
const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

describe('e2e: the hs CLI and the Temporal CLI', function () {
  this.timeout(300_000);
  let home: string;
  let port: number;
  let uiPort: number;
  let fake: FakeOpenAi;
  let worker: ChildProcess | undefined;
  let env: NodeJS.ProcessEnv;

  const hs = async (...args: string[]): Promise<Outcome> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [path.join(REPO, 'bin/hs.js'), ...args], { cwd: REPO, env, timeout: 240_000 });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  };
  const writeConfig = (name: string, config: unknown): string => {
    const file = path.join(home, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };

  before(async () => {
    home = tempDir('cli');
    [port, uiPort] = [await freePort(), await freePort()];
    env = { ...process.env, HS_HOME: home, HS_DATA_ROOT: REPO, TEMPORAL_ADDRESS: `127.0.0.1:${port}` };
    fake = await startFakeOpenAi({});
  });

  after(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await hs('server', 'stop', '--port', String(port));
    await fake?.close();
  });

  it('validate prints every problem with its path and exits 2', async () => {
    const bad = writeConfig('bad', { ...tinyStudy('cli-bad', fake.baseURL), seed: -1, models: [{ id: 'a', baseURL: 'nope', model: 'm', extra: 1 }] });
    const outcome = await hs('validate', bad);
    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /seed: /);
    assert.match(outcome.stderr, /models\[0\]\.baseURL: must be an http\(s\) URL/);
    assert.match(outcome.stderr, /models\[0\]\.extra: unknown key/);
    const good = await hs('validate', writeConfig('good', tinyStudy('cli-good', fake.baseURL)));
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /valid/);
  });

  it('start --dry-run projects calls, tokens and cost without contacting a server', async () => {
    const config = tinyStudy('cli-dry', fake.baseURL, { maxIterations: 5, budget: { maxCalls: 200 } });
    const priced = { ...config, models: config.models.map((m) => ({ ...m, price: { promptPerMillion: 1, completionPerMillion: 4 } })) };
    const before = fake.requests.length;
    const outcome = await hs('start', writeConfig('dry', priced), '--dry-run'); // no server runs yet: nothing may be contacted
    assert.equal(outcome.code, 0, outcome.stderr);
    // arith-tiny: 6 dev / 4 test items; 3 models × 4 particles → 72 calls per iteration (6 items × 3 nodes × 4).
    assert.match(outcome.stdout, /6 dev \/ 4 test items/);
    assert.match(outcome.stdout, /each iteration\s+72\s/);
    assert.match(outcome.stdout, /final test\s+12\s/);
    assert.match(outcome.stdout, /total \(5 iterations\)\s+444\s/);
    assert.match(outcome.stdout, /pauses the study after the initialisation and 2 iteration\(s\)/);
    assert.match(outcome.stdout, /baselines: none/);
    // With every baseline: 3 single models × 10 items + chain and star on test (12 calls each) = 54 calls first.
    const withBaselines = await hs('start', writeConfig('dry-baselines', { ...priced, baselines: ['single', 'chain', 'star', 'vote'] }), '--dry-run');
    assert.equal(withBaselines.code, 0, withBaselines.stderr);
    assert.match(withBaselines.stdout, /baselines: single, chain, star, vote/);
    assert.match(withBaselines.stdout, /baselines \(before iter\. 0\)\s+54\s/);
    assert.match(withBaselines.stdout, /total \(5 iterations\)\s+498\s/);
    assert.equal(fake.requests.length, before, 'no model call');
  });

  it('starts the dev server on a SQLite file and runs a study started by the Temporal CLI', async () => {
    const started = await hs('server', 'start', '--port', String(port), '--ui-port', String(uiPort));
    assert.equal(started.code, 0, started.stderr);
    assert.ok(fs.existsSync(path.join(home, 'temporal.db')), 'the dev server persists to .hs/temporal.db');
    assert.equal((await hs('server', 'status', '--port', String(port))).code, 0);
    worker = spawn(process.execPath, [path.join(REPO, 'bin/hs.js'), 'worker'], { cwd: REPO, env, stdio: 'ignore' });

    const config = writeConfig('temporal-cli', tinyStudy('cli-temporal', fake.baseURL, { maxIterations: 1 }));
    await run(temporalBinary(), [
      'workflow', 'start', '--type', 'swarmSearch', '--task-queue', 'hs', '--workflow-id', 'hs/cli-temporal', '--input-file', config,
      '--address', `127.0.0.1:${port}`,
    ]);
    const result = await hs('result', 'cli-temporal', '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as SearchReport;
    assert.equal(report.study, 'cli-temporal');
    assert.equal(report.iterations, 1);

    const status = await hs('status', 'cli-temporal');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /\[cli-temporal\] done \[#{20}\] 100% iteration 1\/1 \| best dev \d\.\d{3}/);
  });

  it('start --wait shows progress and the report; stop ends a long study early', async () => {
    const waited = await hs('start', writeConfig('wait', tinyStudy('cli-wait', fake.baseURL, { maxIterations: 2 })), '--wait');
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /iteration \d\/2 .*\| best dev (—|\d\.\d{3}) \| calls \d+ \| cache hits \d+/);
    assert.match(waited.stdout, /Best system \(iteration \d, role step, graph particle \d\): dev \d\.\d{4} {2}test \d\.\d{4}/);

    const again = await hs('start', writeConfig('long', tinyStudy('cli-long', fake.baseURL, { maxIterations: 500, patience: 500 })));
    assert.equal(again.code, 0, again.stderr);

    // Live control: a bad patch is refused (exit 2, the field named); a good one applies from the next iteration.
    const bad = await hs('configure', 'cli-long', '--set', 'roleStep.inertia=-1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /roleStep\.inertia/);
    const refused = await hs('configure', 'cli-long', '--set', 'maxIterations=0');
    assert.equal(refused.code, 2, 'the workflow validator refuses what only it can check');
    assert.match(refused.stderr, /maxIterations: iteration \d+ is already done|maxIterations/);
    const good = await hs('configure', 'cli-long', '--set', 'roleStep.inertia=0.3', '--set', 'patience=400');
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /new settings from iteration \d+ on/);
    await run(temporalBinary(), [
      'workflow', 'update', 'execute', '--workflow-id', 'hs/cli-long', '--name', 'configure', '--input', '{"patience":450}', '--address', `127.0.0.1:${port}`,
    ]);
    const status = JSON.parse((await hs('status', 'cli-long', '--json')).stdout) as { settings: { patience: number; roleStep: { inertia: number } } };
    assert.deepEqual([status.settings.patience, status.settings.roleStep.inertia], [450, 0.3]);
    const seeded = await hs('seed', 'cli-long', '--edges', 'alpha>beta,beta>gamma');
    assert.equal(seeded.code, 0, seeded.stderr);
    assert.match(seeded.stdout, /the seed replaces graph particle \d from iteration \d+ on/);
    const badSeed = await hs('seed', 'cli-long', '--edges', 'alpha>omega');
    assert.equal(badSeed.code, 2);
    assert.match(badSeed.stderr, /unknown model id "omega"/);
    const adapterSeed = await hs('seed', 'cli-long', '--model', 'alpha', '--adapter', 'alpha-v2.gguf');
    assert.equal(adapterSeed.code, 2, 'a role-only study has no model particles');
    assert.match(adapterSeed.stderr, /model: model "alpha" has no adapter in the config/);
    const halfSeed = await hs('seed', 'cli-long', '--adapter', 'alpha-v2.gguf');
    assert.equal(halfSeed.code, 2);
    assert.match(halfSeed.stderr, /--model ID --adapter PATH/);
    let particles = await hs('particles', 'cli-long');
    for (let i = 0; i < 50 && !/graph 0:/.test(particles.stdout); i++) particles = await hs('particles', 'cli-long');
    assert.equal(particles.code, 0, particles.stderr);
    assert.match(particles.stdout, /graph 0: x mean \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] {2}‖v‖ \d\.\d{3}/);

    const stop = await hs('stop', 'cli-long');
    assert.equal(stop.code, 0, stop.stderr);
    const match = /will stop after iteration (\d+)/.exec(stop.stdout);
    assert.ok(match, stop.stdout);
    const report = JSON.parse((await hs('result', 'cli-long', '--json')).stdout) as SearchReport;
    assert.equal(report.stoppedBy, 'stopped');
    assert.equal(report.iterations, Number(match[1]));
  });

  it('keeps studies across a dev-server restart (SQLite)', async () => {
    assert.equal((await hs('server', 'stop', '--port', String(port))).code, 0);
    assert.notEqual((await hs('server', 'status', '--port', String(port))).code, 0);
    assert.equal((await hs('server', 'start', '--port', String(port), '--ui-port', String(uiPort))).code, 0);
    const result = await hs('result', 'cli-temporal', '--json');
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as SearchReport).study, 'cli-temporal');
  });
});
