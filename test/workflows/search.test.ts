/**
 * swarmSearch end to end on a real local Temporal server (project-installed CLI) with a fake OpenAI-compatible
 * HTTP server: a whole small study, continue-as-new, pause/resume/stop, invalid input, search attributes.
 */
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRealDeps } from '../../workers/deps';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import { pauseSignal, resumeSignal, statusQuery, stopUpdate } from '../../workflows/messages';
import type { SearchReport } from '../../workflows/search.workflow';
import type { FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { useTemporalAndFake, tempDir, withWorkers } from '../helpers/temporal';
import { until } from '../helpers/wait';

describe('swarmSearch workflow (real local Temporal server)', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeOpenAi;

  useTemporalAndFake((e, f) => {
    env = e;
    fake = f;
  });

  const runStudy = async (config: unknown, home = tempDir('home')): Promise<SearchReport> => {
    const deps = createRealDeps({ home, dataRoot: process.cwd() });
    return await withWorkers(env, deps, async () => {
      const study = (config as { study: string }).study;
      return (await env.client.workflow.execute('swarmSearch', {
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        workflowId: studyWorkflowId(study),
        args: [config],
      })) as SearchReport;
    });
  };

  it('runs a 3-model, 4-particle, 2-iteration study to a report', async () => {
    const before = fake.requests.length;
    const report = await runStudy(tinyStudy('wf-basic', fake.baseURL));
    assert.equal(report.study, 'wf-basic');
    assert.equal(report.stoppedBy, 'max-iterations');
    assert.equal(report.iterations, 2);
    assert.equal(report.summaries.length, 3);
    assert.equal(report.counters.evaluations, 3 * 4 + 1, 'initial + 2 iterations of 4 particles, plus the final test');
    const bestEver = Math.max(...report.summaries.map((s) => s.bestScore));
    assert.equal(report.best.devScore, bestEver, 'the all-time best is the best dev score ever seen');
    assert.ok(report.best.testScore >= 0 && report.best.testScore <= 1);
    assert.equal(report.best.test.total, 4);
    assert.deepEqual([...report.best.order].sort(), ['alpha', 'beta', 'gamma']);
    assert.equal(report.best.order[report.best.order.length - 1], report.best.sink);
    assert.equal(report.best.edges.length, 2, 'an in-tree over 3 nodes has 2 edges');
    assert.equal(report.counters.calls, fake.requests.length - before, 'every paid call reached the server exactly once');
    assert.ok(report.counters.cacheHits > 0, 'shared source prompts are answered from the cache');
    for (let i = 1; i < report.summaries.length; i++) {
      assert.ok(report.summaries[i]!.globalBestScore >= report.summaries[i - 1]!.globalBestScore, 'global best never decreases');
    }
    const description = await env.client.workflow.getHandle(studyWorkflowId('wf-basic')).describe();
    assert.deepEqual(description.searchAttributes.HsStudy, ['wf-basic']);
    assert.deepEqual(description.searchAttributes.HsIteration, [2]);
    assert.deepEqual(description.searchAttributes.HsBestScore, [report.best.devScore]);
  });

  it('re-running a study on the same cache pays 0 model calls and gives the same report', async () => {
    const home = tempDir('home');
    const first = await runStudy(tinyStudy('wf-rerun', fake.baseURL), home);
    const sent = fake.requests.length;
    const second = await runStudy(tinyStudy('wf-rerun', fake.baseURL), home);
    assert.ok(first.counters.calls > 0);
    assert.equal(second.counters.calls, 0, 'every call answered from the cache');
    assert.equal(second.counters.cacheHits, first.counters.calls + first.counters.cacheHits);
    assert.equal(fake.requests.length, sent, 'the endpoint saw no request');
    // Transcripts differ only in provenance (each node's "cached" flag).
    assert.deepEqual({ ...second.best, transcripts: null }, { ...first.best, transcripts: null });
    assert.deepEqual(second.summaries, first.summaries);
  });

  it('gives the same result when it continues-as-new after every iteration', async () => {
    const plain = await runStudy(tinyStudy('wf-can-a', fake.baseURL, { maxIterations: 3 }));
    const chained = await runStudy(tinyStudy('wf-can-b', fake.baseURL, { maxIterations: 3, continueAsNewEvery: 1 }));
    assert.equal(plain.runs, 0);
    assert.equal(chained.runs, 2, 'hand-overs after iterations 1 and 2; after 3 the study ends instead');
    // Transcripts name their study, so their keys differ; everything else must be identical.
    const strip = (r: SearchReport) => ({ ...r, study: '', runs: 0, best: { ...r.best, transcripts: { dev: '', test: '' } } });
    assert.deepEqual(strip(chained), strip(plain));
  });

  it('pauses, resumes and stops on request', async () => {
    const deps = createRealDeps({ home: tempDir('home'), dataRoot: process.cwd() });
    await withWorkers(env, deps, async () => {
      const handle = await env.client.workflow.start('swarmSearch', {
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        workflowId: studyWorkflowId('wf-control'),
        args: [tinyStudy('wf-control', fake.baseURL, { maxIterations: 1000, patience: 1000 })],
      });
      await until('iteration 1', async () => (await handle.query(statusQuery)).iteration >= 1);
      await handle.signal(pauseSignal);
      await until('paused', async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'paused' && s.currentStep === null;
      });
      const pausedAt = (await handle.query(statusQuery)).iteration;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await handle.query(statusQuery)).iteration, pausedAt, 'no iteration runs while paused');
      await handle.signal(resumeSignal);
      await until('progress after resume', async () => (await handle.query(statusQuery)).iteration > pausedAt);
      const { stopAfterIteration } = await handle.executeUpdate(stopUpdate);
      const report = (await handle.result()) as SearchReport;
      assert.equal(report.stoppedBy, 'stopped');
      assert.equal(report.iterations, stopAfterIteration);
      assert.ok(report.best.testScore >= 0);
    });
  });

  it('fails an invalid config with the non-retryable InvalidSearchConfig naming each field', async () => {
    const bad = { ...tinyStudy('wf-invalid', fake.baseURL), roleStep: { particles: 1, inertia: 'high' } };
    await assert.rejects(runStudy(bad), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'InvalidSearchConfig');
      assert.equal(err.cause.nonRetryable, true);
      assert.match(err.cause.message, /roleStep\.particles/);
      assert.match(err.cause.message, /roleStep\.inertia/);
      return true;
    });
  });
});
