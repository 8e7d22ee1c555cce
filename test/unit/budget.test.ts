import assert from 'node:assert/strict';
import { BudgetSchema, callCostUsd, exhaustedLimit, iterationsWithin, projectStudy, type Spent } from '../../workflows/core/budget';
import { applySettingsPatch } from '../../workflows/core/control';
import { parseSearchConfig } from '../../workflows/core/config';

const none: Spent = { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, wallClockHours: 0 };

describe('budget', () => {
  it('cost of a call: tokens × USD per million; free without a price', () => {
    assert.equal(callCostUsd({ promptPerMillion: 2, completionPerMillion: 8 }, 1000, 500), (1000 * 2 + 500 * 8) / 1e6);
    assert.equal(callCostUsd(undefined, 1000, 500), 0);
  });

  it('names the first limit reached; null while every limit has room', () => {
    const budget = BudgetSchema.parse({ maxCalls: 100, maxCostUsd: 1.5, maxWallClockHours: 48 });
    assert.equal(budget.onExhausted, 'pause', 'the default: wait for a raise');
    assert.equal(exhaustedLimit(budget, { ...none, calls: 99, costUsd: 1.49, wallClockHours: 47.9 }), null);
    assert.equal(exhaustedLimit(budget, { ...none, calls: 100 }), 'maxCalls (100 ≥ 100)');
    assert.equal(exhaustedLimit(budget, { ...none, costUsd: 1.5000001 }), 'maxCostUsd (1.5 ≥ 1.5)');
    assert.equal(exhaustedLimit(budget, { ...none, wallClockHours: 50 }), 'maxWallClockHours (50 ≥ 48)');
    assert.equal(exhaustedLimit(BudgetSchema.parse({}), { calls: 1e9, promptTokens: 1e12, completionTokens: 1e12, costUsd: 1e9, wallClockHours: 1e6 }), null, 'no limits: never exhausted');
    assert.equal(exhaustedLimit(BudgetSchema.parse({ maxPromptTokens: 10, maxCompletionTokens: 5 }), { ...none, completionTokens: 5 }), 'maxCompletionTokens (5 ≥ 5)');
  });

  it('rejects nonsense limits', () => {
    for (const bad of [{ maxCalls: 0 }, { maxCalls: 1.5 }, { maxCostUsd: -1 }, { maxCostUsd: Number.NaN }, { onExhausted: 'explode' }, { maxTokens: 5 }]) {
      assert.equal(BudgetSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  const projectionInput = {
    prices: [{ promptPerMillion: 3, completionPerMillion: 6 }, undefined, { promptPerMillion: 0, completionPerMillion: 3 }],
    devItems: 10,
    testItems: 4,
    promptTokens: 100,
    maxTokens: 50,
    particles: 4,
    assignments: 2,
    iterations: 2,
  };

  it('projection: hand-computed upper bound per iteration, for the final test and in total', () => {
    // 3 models, 10 dev / 4 test items, 100-token prompts, 50 max tokens, 4 particles + 2 JFK assignments, 2 iterations.
    const p = projectStudy({ ...projectionInput, baselines: [] });
    assert.deepEqual(p.baselines, { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 });
    // One dev evaluation: 10 items × 3 nodes = 30 calls; prompt ≤ 100 + 2·50 = 200 tokens; completion 50.
    // Mean price: prompt 1 USD/M, completion 3 USD/M. Per iteration: 6 evaluations.
    assert.deepEqual(p.iteration, { calls: 180, promptTokens: 36_000, completionTokens: 9_000, costUsd: (36_000 * 1 + 9_000 * 3) / 1e6 });
    assert.deepEqual(p.finalTest, { calls: 12, promptTokens: 2_400, completionTokens: 600, costUsd: (2_400 + 600 * 3) / 1e6 });
    assert.equal(p.total.calls, 3 * 180 + 12, 'initialisation + 2 iterations + final test');
    assert.ok(Math.abs(p.total.costUsd - (3 * 0.063 + 0.0042)) < 1e-12);
  });

  it('projection of the baselines: singles at their own price on dev + test, chain and star on test, vote free', () => {
    const p = projectStudy({ ...projectionInput, baselines: ['single', 'chain', 'star', 'vote'] });
    // Singles: 3 models × 14 items = 42 calls, 1,400 prompt and 700 completion tokens each model;
    // cost (1,400·3 + 700·6)/1e6 + 0 + (700·3)/1e6.
    // Chain + star: 2 × the final test's bound (12 calls, 2,400 / 600 tokens, (2,400 + 1,800)/1e6).
    assert.equal(p.baselines.calls, 42 + 24);
    assert.equal(p.baselines.promptTokens, 3 * 1_400 + 2 * 2_400);
    assert.equal(p.baselines.completionTokens, 3 * 700 + 2 * 600);
    assert.ok(Math.abs(p.baselines.costUsd - ((1_400 * 3 + 700 * 6 + 700 * 3) / 1e6 + 2 * 0.0042)) < 1e-12);
    assert.equal(p.total.calls, 66 + 3 * 180 + 12);
    assert.equal(projectStudy({ ...projectionInput, baselines: ['chain'] }).baselines.calls, 12, 'chain alone: one test evaluation');
  });

  it('configure: a budget patch changes only the named limits', () => {
    const parsed = parseSearchConfig({
      study: 'b',
      models: [{ id: 'a', baseURL: 'http://127.0.0.1:1/v1', model: 'a' }],
      task: { path: 'x.jsonl', type: 'multiple_choice' },
      budget: { maxCalls: 10, onExhausted: 'end' },
    });
    assert.ok(parsed.ok);
    const patched = applySettingsPatch(parsed.config, { budget: { maxCalls: 20 } }, 0);
    assert.ok(patched.ok);
    assert.deepEqual(patched.config.budget, { maxCalls: 20, onExhausted: 'end' });
    const bad = applySettingsPatch(parsed.config, { budget: { maxCalls: -3 } }, 0);
    assert.ok(!bad.ok && bad.problems[0]?.path === 'budget.maxCalls');
  });

  it('iterations within a budget: the limit is checked before each iteration', () => {
    const per = { calls: 30, promptTokens: 1000, completionTokens: 100, costUsd: 0.5 };
    // After init 30 < 100 → it. 1 (60) → it. 2 (90) → it. 3 (120 ≥ 100): 3 iterations start.
    assert.equal(iterationsWithin(BudgetSchema.parse({ maxCalls: 100 }), per), 3);
    assert.equal(iterationsWithin(BudgetSchema.parse({ maxCalls: 90 }), per), 2);
    assert.equal(iterationsWithin(BudgetSchema.parse({ maxCalls: 100, maxCostUsd: 1 }), per), 1, 'the tightest limit wins');
    assert.equal(iterationsWithin(BudgetSchema.parse({ maxCalls: 10 }), per), 0, 'the initialisation alone exceeds it');
    assert.equal(iterationsWithin(BudgetSchema.parse({ maxWallClockHours: 1 }), per), null, 'time is not projected');
    assert.equal(iterationsWithin(BudgetSchema.parse({ maxCostUsd: 1 }), { ...per, costUsd: 0 }), null, 'free models never reach a cost limit');
    // Baselines first (25 calls): init 55 → it. 1 (85) → it. 2 (115 ≥ 100): 2 iterations start.
    assert.equal(iterationsWithin(BudgetSchema.parse({ maxCalls: 100 }), per, { calls: 25, promptTokens: 0, completionTokens: 0, costUsd: 0 }), 2);
  });
});
