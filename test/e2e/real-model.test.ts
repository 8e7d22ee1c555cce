/**
 * A short joint study (role + weight steps) on the REAL embedded model: SmolLM2-135M-Instruct served by
 * `hs llm serve` with two LoRA experts from `initPool`, a real local Temporal server, a handful of dev items.
 * The weight step moves the GGUF adapters and hot-loads every version through `load_lora_adapter`. Scores must
 * be in range and a re-run on the same cache must pay 0 model calls.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadPool } from '../../llm/pool-schema';
import { initPool } from '../../llm/pool';
import { REPO_ROOT } from '../../scripts/dev-server';
import { startLlmServer, type LlmServerProcess } from '../../scripts/llm-process';
import { createRealDeps } from '../../workers/deps';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { TINY_TASK } from '../helpers/study';
import { startLocalTemporal, tempDir, withWorkers } from '../helpers/temporal';

describe('e2e: a real-model study on the embedded SmolLM2 with LoRA experts', function () {
  this.timeout(600_000);
  let env: TestWorkflowEnvironment;
  let llm: LlmServerProcess;
  let config: SearchConfigInput;
  const home = tempDir('real');

  before(async () => {
    const pool = await initPool({
      basePath: path.join(REPO_ROOT, '.models', 'SmolLM2-135M-Instruct.Q4_1.gguf'),
      outDir: path.join(home, 'adapters'),
      name: 'smollm2',
      experts: 2,
      rank: 4,
      seed: 3,
    });
    const manifest = await loadPool(pool.manifestPath, { resolvePaths: true });
    [env, llm] = await Promise.all([
      startLocalTemporal(),
      startLlmServer(manifest.experts.flatMap((e) => ['--lora', `${e.name}=${e.path}@smollm2`]), { ...process.env, HS_HOME: home }),
    ]);
    config = {
      study: 'real-model',
      models: manifest.experts.map((e, i) => ({
        id: `expert-${i}`,
        baseURL: llm.baseURL,
        model: e.name,
        adapterSha256: e.sha256,
        adapter: { path: e.path, format: 'gguf' as const, base: 'smollm2' },
      })),
      task: { path: TINY_TASK, type: 'multiple_choice', devLimit: 3, testLimit: 2 },
      roleStep: { particles: 2 },
      weightStep: { assignments: 2 },
      maxIterations: 1,
      generation: { maxTokens: 8 },
      // A 135M model may ramble: count unparsable answers, do not fail the study on them.
      evaluation: { maxUnparsableFraction: 1 },
    };
  });
  after(async () => {
    await Promise.all([env?.teardown(), llm?.stop()]);
  });

  const run = async (): Promise<SearchReport> =>
    await withWorkers(env, createRealDeps({ home, dataRoot: REPO_ROOT }), async () =>
      (await env.client.workflow.execute('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId('real-model'), args: [config] })) as SearchReport,
    );

  it('alternates role and weight steps with scores in range, and a re-run pays 0 calls', async () => {
    const first = await run();
    assert.equal(first.iterations, 1);
    const models = first.models;
    assert.ok(models !== null);
    for (const m of models) {
      assert.equal(m.adapterIteration, 1, `${m.id} was moved and published in iteration 1`);
      assert.match(m.served, /^expert-\d@[0-9a-f]{12}$/);
      assert.ok(m.jfk !== null && m.jfk >= 0 && m.jfk <= 1);
    }
    for (const s of first.summaries) {
      assert.ok(s.bestScore >= 0 && s.bestScore <= 1 && s.meanScore >= 0 && s.meanScore <= 1, JSON.stringify(s));
    }
    assert.ok(first.best.testScore >= 0 && first.best.testScore <= 1);
    assert.equal(first.best.test.total, 2);
    // The baselines (config default: all four) ran on the initial adapters, before the search.
    const b = first.baselines;
    assert.ok(b !== null && b.chain && b.star && b.vote, `every baseline ran (${JSON.stringify(first.baselinesFailure)})`);
    assert.deepEqual(b.singles.map((s) => s.models[0]), ['expert-0', 'expert-1']);
    for (const s of [...b.singles, b.chain, b.star, b.vote]) assert.ok(s.test >= 0 && s.test <= 1 && s.total === 2, JSON.stringify(s));
    assert.ok(b.bestSingle !== null);
    assert.ok(first.counters.calls > 0, 'the real model was called');
    assert.ok(first.counters.completionTokens > 0);
    const second = await run();
    assert.equal(second.counters.calls, 0, 'every call came from the cache');
    assert.deepEqual(second.summaries, first.summaries);
    // The baselines too (their transcripts differ: they mark the answers as cached).
    const scores = (r: SearchReport) => JSON.stringify(r.baselines, (key, value: unknown) => (key === 'transcripts' ? undefined : value));
    assert.equal(scores(second), scores(first), 'the baselines too');
    const jfk = first.summaries.map((s) => (s.jfk ?? []).map((x) => x?.toFixed(2) ?? '-').join('/')).join(' → ');
    console.log(`      real model: ${first.counters.calls} calls, ${first.counters.completionTokens} tokens; best dev ${first.best.devScore.toFixed(3)} (${first.best.step} step), test ${first.best.testScore.toFixed(3)}; JFK ${jfk}`);
  });
});
