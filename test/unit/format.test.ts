import assert from 'node:assert/strict';
import { BudgetSchema } from '../../workflows/core/budget';
import type { StatusView, StepProgress } from '../../workflows/messages';
import { duration, progressFraction, progressLine } from '../../scripts/format';

/** The test's clock: the study started 30 minutes before it. */
const NOW = Date.UTC(2026, 10, 26, 12);
const status = (over: Partial<StatusView> = {}): StatusView => ({
  study: 's',
  phase: 'role-step',
  iteration: 1,
  maxIterations: 3,
  bestDevScore: 0.5,
  bestTestScore: null,
  bestGraph: null,
  counters: { calls: 100, cacheHits: 20, promptTokens: 0, completionTokens: 0, costUsd: 0.125, evaluations: 8, unparsable: 0, errors: 0 },
  models: null,
  paused: false,
  stopRequested: false,
  runs: 0,
  currentStep: 'hs/s/role-2',
  settings: {} as StatusView['settings'],
  budget: { limits: BudgetSchema.parse({}), spent: { calls: 100, promptTokens: 0, completionTokens: 0, costUsd: 0.125, wallClockHours: 0.5 }, exhausted: null },
  baselines: null,
  startedAt: NOW - 30 * 60_000,
  ...over,
});
const step: StepProgress = { iteration: 2, evaluationsDone: 2, evaluationsTotal: 4, calls: 10, cacheHits: 1 };

describe('progress line', () => {
  it('fraction: initialisation and each iteration are one unit; the running step counts in part', () => {
    // init + iteration 1 done (2 units) + half of iteration 2, out of 4 units.
    assert.equal(progressFraction(status(), step), 2.5 / 4);
    assert.equal(progressFraction(status({ bestDevScore: null, iteration: 0, currentStep: 'hs/s/role-0' }), step), 0.5 / 4);
    assert.equal(progressFraction(status({ currentStep: null }), step), 2 / 4, 'between iterations');
    assert.equal(progressFraction(status({ phase: 'done' })), 1);
    // Baselines are one more unit, before the initialisation.
    const baselinesStep: StepProgress = { iteration: 0, evaluationsDone: 5, evaluationsTotal: 10, calls: 0, cacheHits: 0 };
    assert.equal(progressFraction(status({ phase: 'baselines', bestDevScore: null, iteration: 0, currentStep: 'hs/s/baselines' }), baselinesStep), 0.5 / 5);
    const baselines = { singles: [], bestSingle: null };
    assert.equal(progressFraction(status({ baselines }), step), 3.5 / 5, 'baselines + init + iteration 1 done, half of iteration 2');
    // A joint study: the role step fills the first half of its iteration's unit, the weight step the second.
    const models = [{ id: 'a', jfk: 0.5, served: 'a', adapterSha256: null, adapterIteration: null }];
    assert.equal(progressFraction(status({ models }), step), 2.25 / 4, 'role step 2/4 done');
    assert.equal(progressFraction(status({ models, currentStep: 'hs/s/weight-2' }), step), 2.75 / 4, 'weight step 2/4 done');
    assert.ok(progressFraction(status({ models }), { ...step, evaluationsDone: 4 }) <= progressFraction(status({ models, currentStep: 'hs/s/weight-2' }), { ...step, evaluationsDone: 0 }), 'never goes back');
  });

  it('shows a bar, evaluations, best score, calls, cost and an ETA from the pace so far', () => {
    // 30 min for 62.5 %: 18 min to go.
    assert.equal(
      progressLine(status(), step, NOW),
      '[s] role-step [############........]  62% iteration 1/3 evals 2/4 | best dev 0.500 | calls 110 | cache hits 21 | cost $0.13 | ETA 18m00s',
    );
    // The ETA runs on the caller's clock: 10 minutes later the pace is slower.
    assert.match(progressLine(status(), step, NOW + 10 * 60_000), /ETA 24m00s$/);
    const exhausted = progressLine(status({ budget: { ...status().budget, exhausted: 'maxCalls (100 ≥ 100)' }, currentStep: null }));
    assert.match(exhausted, /\[budget: maxCalls \(100 ≥ 100\)\]/);
    assert.doesNotMatch(exhausted, /ETA/, 'no ETA while paused');
  });

  it('durations', () => {
    assert.deepEqual([duration(5.4), duration(250), duration(3720), duration(-3)], ['5s', '4m10s', '1h02m', '0s']);
  });
});
