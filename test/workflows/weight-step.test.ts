/**
 * The joint search (role step + weight step, paper-notes §1.2) on a real local Temporal server against a fake
 * vLLM whose answers depend on the adapter content: GGUF and PEFT adapters in two weight swarms (two bases),
 * one fixed model, versions published through `load_lora_adapter`, JFK-scores, determinism, continue-as-new.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRealDeps } from '../../workers/deps';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import { statusQuery, type StatusView } from '../../workflows/messages';
import type { SearchReport } from '../../workflows/search.workflow';
import { answerKey, writeGgufAdapter, writePeftAdapter } from '../helpers/adapters';
import { adapterSkill, meanForSkill, startFakeVllm, type FakeVllm } from '../helpers/fake-vllm';
import { TINY_TASK } from '../helpers/study';
import { startLocalTemporal, tempDir, withWorkers } from '../helpers/temporal';

describe('joint search: role and weight steps (real local Temporal server, fake vLLM)', function () {
  this.timeout(300_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeVllm;
  const adapters = tempDir('adapters');
  const initial = {
    alpha: path.join(adapters, 'alpha.gguf'),
    beta: path.join(adapters, 'beta.gguf'),
    gamma: path.join(adapters, 'gamma'),
    delta: path.join(adapters, 'delta'),
  };
  const skills = { alpha: 0.15, beta: 0.85, gamma: 0.3, delta: 0.7 };

  before(async () => {
    await writeGgufAdapter(initial.alpha, meanForSkill(skills.alpha), 1);
    await writeGgufAdapter(initial.beta, meanForSkill(skills.beta), 2);
    await writePeftAdapter(initial.gamma, meanForSkill(skills.gamma), 3, 'BF16');
    await writePeftAdapter(initial.delta, meanForSkill(skills.delta), 4, 'BF16');
    [env, fake] = await Promise.all([
      startLocalTemporal(),
      startFakeVllm({
        answers: answerKey(TINY_TASK),
        initial: { 'fake-alpha': initial.alpha, 'fake-beta': initial.beta, 'fake-gamma': initial.gamma, 'fake-delta': initial.delta },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([env?.teardown(), fake?.close()]);
  });

  const jointStudy = (study: string, overrides: Partial<SearchConfigInput> = {}): SearchConfigInput => {
    const gguf = (id: keyof typeof initial) => ({ id, baseURL: fake.baseURL, model: `fake-${id}`, adapter: { path: initial[id], format: 'gguf' as const, base: 'fake-gguf-base' } });
    const peft = (id: keyof typeof initial) => ({ id, baseURL: fake.baseURL, model: `fake-${id}`, adapter: { path: initial[id], format: 'peft' as const, base: 'fake-peft-base' } });
    return {
      study,
      models: [gguf('alpha'), gguf('beta'), peft('gamma'), peft('delta'), { id: 'epsilon', baseURL: fake.baseURL, model: 'fake-epsilon' }],
      task: { path: TINY_TASK, type: 'multiple_choice' },
      roleStep: { particles: 3 },
      weightStep: { assignments: 4 },
      maxIterations: 2,
      seed: 11,
      evaluation: { heartbeatTimeoutSeconds: 5 },
      baselines: [],
      ...overrides,
    };
  };

  const runStudy = async (config: SearchConfigInput, home = tempDir('home')): Promise<SearchReport> => (await runWithStatus(config, home)).report;
  /** Runs a study and queries its `status` once it has finished. */
  const runWithStatus = async (config: SearchConfigInput, home: string): Promise<{ report: SearchReport; status: StatusView }> => {
    const deps = createRealDeps({ home, dataRoot: process.cwd() });
    return await withWorkers(env, deps, async () => {
      const handle = await env.client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(config.study), args: [config] });
      const report = (await handle.result()) as SearchReport;
      return { report, status: await handle.query(statusQuery) };
    });
  };

  it('alternates role and weight steps, publishes new adapter versions and reports JFK-scores', async () => {
    const home = tempDir('home');
    const loadsBefore = fake.loads.length;
    const { report, status } = await runWithStatus(jointStudy('joint-basic'), home);
    assert.deepEqual(status.models, report.models, '`status` shows the JFK-scores and adapter versions');
    assert.equal(report.iterations, 2);
    assert.equal(report.counters.evaluations, 3 * (3 + 4) + 1, '3 × (3 graphs + 4 JFK assignments) + the final test');
    assert.equal(report.summaries.length, 3);
    for (const s of report.summaries) {
      assert.equal(s.jfk?.length, 5, 'a JFK-score (or null) per model every iteration');
      assert.ok(s.bestAssignmentScore !== undefined);
    }

    // Every adapter model moved twice (iterations 1 and 2) and was published as <id>@<sha12>; epsilon stayed fixed.
    const models = report.models;
    assert.ok(models !== null);
    for (const m of models.slice(0, 4)) {
      assert.equal(m.adapterIteration, 2, `${m.id} carries the version made in iteration 2`);
      assert.match(m.served, new RegExp(`^${m.id}@[0-9a-f]{12}$`));
      assert.equal(m.served.slice(-12), m.adapterSha256?.slice(0, 12));
      assert.ok(typeof m.jfk === 'number');
    }
    assert.deepEqual({ ...models[4], jfk: null }, { id: 'epsilon', jfk: null, served: 'fake-epsilon', adapterSha256: null, adapterIteration: null });

    // Versions were loaded through vLLM's API, with the base of their swarm, from the export directory.
    const loads = fake.loads.slice(loadsBefore);
    const made = loads.filter((l) => /@[0-9a-f]{12}$/.test(l.name));
    assert.ok(made.length >= 12, `4 models × (initial version + 2 iterations) loaded (got ${made.length})`);
    for (const l of made) {
      const id = l.name.split('@')[0]!;
      assert.equal(l.base, ['alpha', 'beta'].includes(id) ? 'fake-gguf-base' : 'fake-peft-base');
      assert.ok(l.path.startsWith(path.join(home, 'adapters', 'versions', id)), l.path);
    }
    // Iterations 1 and 2 retired the versions they replaced.
    assert.ok(fake.unloads.filter((n) => /@/.test(n)).length >= 8);

    // The weight step moved the adapters, hence the answers: every adapter model's skill changed.
    for (const m of models.slice(0, 4)) {
      const now = fake.loaded.get(m.served) ?? { skill: await adapterSkill(path.join(home, 'adapters', 'versions', m.id, m.id === 'alpha' || m.id === 'beta' ? `${m.adapterSha256}.gguf` : m.adapterSha256!)) };
      const before = skills[m.id as keyof typeof skills];
      assert.ok(Math.abs(now.skill - before) > 1e-3, `${m.id}: skill ${before} → ${now.skill}`);
    }
    const jfkChanged = report.summaries.slice(1).some((s) => JSON.stringify(s.jfk) !== JSON.stringify(report.summaries[0]!.jfk));
    assert.ok(jfkChanged, 'JFK-scores changed after the weights moved');
    if (report.best.step === 'weight') assert.notDeepEqual(report.best.assignment, ['alpha', 'beta', 'gamma', 'delta', 'epsilon']);
    assert.equal(Object.keys(report.best.versions).length, 5);
  });

  it('is deterministic: a re-run pays 0 calls, and continue-as-new every iteration gives the same study', async () => {
    const home = tempDir('home');
    const first = await runStudy(jointStudy('joint-det-a'), home);
    const sent = fake.requests.length;
    const chained = await runStudy(jointStudy('joint-det-b', { continueAsNewEvery: 1 }), home);
    assert.equal(chained.runs, 1);
    assert.equal(chained.counters.calls, 0, 'same seed ⇒ same adapters ⇒ every call from the cache');
    assert.equal(fake.requests.length, sent);
    const strip = (r: SearchReport) => ({ ...r, study: '', runs: 0, counters: null, best: { ...r.best, transcripts: null } });
    assert.deepEqual(strip(chained), strip(first));
  });

  it('loads the adapter versions again when the endpoint lost them (restart) and ends as if nothing happened', async () => {
    const reference = await runStudy(jointStudy('joint-restart-ref'));
    fake.forgetLoaded();
    const before = fake.loads.length;
    let versionLoads = 0;
    let forgotten = 0;
    fake.onLoad = (name) => {
      // Right after the 4 initial versions are loaded, the endpoint "restarts" and forgets them.
      if (name.includes('@') && ++versionLoads === 4) {
        forgotten = fake.forgetLoaded();
        fake.onLoad = undefined;
      }
    };
    const report = await runStudy(jointStudy('joint-restart'));
    assert.equal(forgotten, 4);
    const loads = fake.loads.slice(before).map((l) => l.name);
    const reloaded = loads.filter((name, i) => loads.indexOf(name) !== i);
    assert.ok(reloaded.length >= 4, `the lost versions were loaded again (${loads.join(', ')})`);
    const strip = (r: SearchReport) => ({ ...r, study: '', counters: null, best: { ...r.best, transcripts: null } });
    assert.deepEqual(strip(report), strip(reference));
  });
});
