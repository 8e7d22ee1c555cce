/**
 * Budgets on a real local Temporal server: a study that reaches its call limit pauses before the next
 * iteration, sends nothing while paused, and resumes when `configure` raises the limit; with
 * `onExhausted: end` it ends with stop reason `budget_exhausted`. Money is counted from the models' prices.
 */
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRealDeps } from '../../workers/deps';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import { configureUpdate, statusQuery } from '../../workflows/messages';
import type { SearchReport } from '../../workflows/search.workflow';
import type { FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { useTemporalAndFake, tempDir, withWorkers } from '../helpers/temporal';
import { until } from '../helpers/wait';

const PRICE = { promptPerMillion: 2.5, completionPerMillion: 10 };

describe('budgets', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeOpenAi;

  useTemporalAndFake((e, f) => {
    env = e;
    fake = f;
  });

  const priced = (study: string, overrides: Partial<SearchConfigInput>): SearchConfigInput => {
    const config = tinyStudy(study, fake.baseURL, overrides);
    return { ...config, models: config.models.map((m) => ({ ...m, price: PRICE })) };
  };

  it('pauses at the call limit, sends nothing, and resumes when configure raises it; counts money', async () => {
    const study = 'budget-pause';
    await withWorkers(env, createRealDeps({ home: tempDir(study), dataRoot: process.cwd() }), async () => {
      const handle = await env.client.workflow.start('swarmSearch', {
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        workflowId: studyWorkflowId(study),
        args: [priced(study, { maxIterations: 2, budget: { maxCalls: 10 } })],
      });
      await until('the budget to pause the study', async () => (await handle.query(statusQuery)).budget.exhausted !== null);
      const paused = await handle.query(statusQuery);
      assert.equal(paused.phase, 'paused');
      assert.equal(paused.iteration, 0, 'the initialisation ran; iteration 1 did not start');
      assert.match(paused.budget.exhausted ?? '', /^maxCalls \(\d+ ≥ 10\)$/);
      const sent = fake.requests.length;
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(fake.requests.length, sent, 'no call while paused by the budget');

      const raised = await handle.executeUpdate(configureUpdate, { args: [{ budget: { maxCalls: 100_000 } }] });
      assert.equal(raised.settings.budget.maxCalls, 100_000);
      const report = (await handle.result()) as SearchReport;
      assert.equal(report.stoppedBy, 'max-iterations');
      assert.equal(report.iterations, 2);
      const expected = (report.counters.promptTokens * PRICE.promptPerMillion + report.counters.completionTokens * PRICE.completionPerMillion) / 1e6;
      assert.ok(report.counters.costUsd > 0 && Math.abs(report.counters.costUsd - expected) < 1e-9, `cost ${report.counters.costUsd} = tokens × price ${expected}`);
    });
  });

  it('ends with budget_exhausted when onExhausted is "end" (the best system still gets its test evaluation)', async () => {
    const study = 'budget-end';
    const report = await withWorkers(env, createRealDeps({ home: tempDir(study), dataRoot: process.cwd() }), async () =>
      (await env.client.workflow.execute('swarmSearch', {
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        workflowId: studyWorkflowId(study),
        args: [priced(study, { maxIterations: 5, budget: { maxCostUsd: 1e-6, onExhausted: 'end' } })],
      })) as SearchReport,
    );
    assert.equal(report.stoppedBy, 'budget_exhausted');
    assert.equal(report.iterations, 0);
    assert.ok(report.best.test.total > 0);
  });
});
