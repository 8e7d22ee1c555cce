/** The pure data behind `hs report`: usage per iteration, DAG node roles, baselines, the Web UI link. */
import assert from 'node:assert/strict';
import { baselineOf, dagNodes, devReferences, testRows, usagePoints, webUiUrl } from '../../scripts/report/data';
import type { BaselineScore } from '../../workflows/core/baselines';
import type { LedgerEntry } from '../../workflows/core/ledger';
import type { SearchReport } from '../../workflows/search.workflow';

const entry = (iteration: number, step: LedgerEntry['step'], calls: number, costUsd: number, extra: Partial<LedgerEntry> = {}): LedgerEntry => ({
  key: '0'.repeat(64),
  study: 's',
  iteration,
  step,
  particle: 0,
  split: step === 'final' ? 'test' : 'dev',
  taskSha256: 'task-a',
  models: [],
  assignment: ['a', 'b'],
  edges: [],
  sink: 0,
  order: [0],
  score: 0.5,
  correct: 1,
  total: 2,
  unparsable: 0,
  errors: 0,
  usage: { calls, cacheHits: 1, promptTokens: 10, completionTokens: 2, costUsd },
  transcriptKey: 'sha256:x',
  failure: null,
  latencyMs: 1,
  recordedAt: '2026-01-01T00:00:00Z',
  ...extra,
});

describe('report data', () => {
  it('sums ledger usage per iteration with running totals', () => {
    const points = usagePoints([entry(1, 'role', 3, 0.5), entry(0, 'role', 2, 0.25), entry(1, 'weight', 4, 1), entry(1, 'final', 1, 0.25)]);
    assert.deepEqual(
      points.map((p) => [p.iteration, p.evaluations, p.calls, p.costUsd, p.cumulativeCalls, p.cumulativeCostUsd, p.tokens]),
      [
        [0, 1, 2, 0.25, 2, 0.25, 12],
        [1, 3, 8, 1.75, 10, 2, 36],
      ],
    );
    assert.deepEqual(usagePoints([]), []);
  });

  it('labels DAG nodes with model, slot and role, also when a model fills two slots', () => {
    const best = { edges: [['a#0', 'b'], ['a#2', 'b'], ['a#0', 'a#2']], order: ['a#0', 'a#2', 'b'], sink: 'b', assignment: ['a', 'b', 'a'], versions: { a: 'a@123' } } as unknown as SearchReport['best'];
    assert.deepEqual(dagNodes(best), [
      { name: 'a#0', model: 'a', slot: 0, role: 'first', served: 'a@123' },
      { name: 'a#2', model: 'a', slot: 2, role: 'intermediate', served: 'a@123' },
      { name: 'b', model: 'b', slot: 1, role: 'final answer', served: null },
    ]);
  });

  it('takes a baseline only from its own final test evaluation and flags another task', () => {
    assert.deepEqual(baselineOf('base', [entry(0, 'role', 1, 0)], 'task-a'), { study: 'base', testScore: null, correct: null, total: null, assignment: [], sameTask: true });
    const other = baselineOf('base', [entry(0, 'final', 1, 0, { score: 0.75, correct: 3, total: 4, taskSha256: 'task-b' })], 'task-a');
    assert.equal(other.testScore, 0.75);
    assert.equal(other.sameTask, false);
    const rejected = baselineOf('base', [entry(0, 'final', 1, 0, { failure: { type: 'EvaluationDegenerate', message: 'x' } })], 'task-a');
    assert.equal(rejected.testScore, null, 'a rejected evaluation is not a score');
  });

  it('links the study workflow in the Web UI', () => {
    assert.equal(webUiUrl('http://127.0.0.1:8233/', 'default', 'my study'), 'http://127.0.0.1:8233/namespaces/default/workflows/hs%2Fmy%20study');
  });

  it('test rows: the searched system, then best single, chain, star, vote, then other studies; dev references', () => {
    const score = (kind: BaselineScore['kind'], models: string[], dev: number | null, test: number): BaselineScore => ({ kind, models, dev, test, correct: 1, total: 4, transcripts: { dev: null, test: 'k' } });
    const report = {
      best: { assignment: ['a', 'b'], testScore: 0.75, test: { correct: 3, total: 4 } },
      baselines: {
        singles: [score('single', ['a'], 0.5, 0.25), score('single', ['b'], 0.6, 0.5)],
        bestSingle: 'b',
        chain: score('chain', ['a', 'b'], null, 0),
        vote: score('vote', ['a', 'b'], 0.55, 0.5),
      },
    } as unknown as SearchReport;
    const other = { study: 'o', testScore: null, correct: null, total: null, assignment: [], sameTask: true };
    assert.deepEqual(
      testRows(report, [other]).map((r) => [r.system, r.group, r.test, r.note]),
      [
        ['searched system (best)', 'searched', 0.75, 'this study'],
        ['best single (b)', 'baseline', 0.5, 'initial models; dev 0.6000'],
        ['chain', 'baseline', 0, 'initial models'],
        ['vote', 'baseline', 0.5, 'initial models; dev 0.5500'],
        ['study o', 'study', null, 'no test evaluation in its ledger'],
      ],
    );
    assert.deepEqual(devReferences(report), [
      { name: 'best single (b), dev', score: 0.6 },
      { name: 'vote, dev', score: 0.55 },
    ]);
    assert.deepEqual(devReferences({ baselines: null }), []);
  });
});
