import assert from 'node:assert/strict';
import {
  baselineRows,
  BaselineKindsSchema,
  chainGraph,
  majorityVote,
  normaliseAnswer,
  preferenceOrder,
  SINGLE_GRAPH,
  starSystem,
  type Baselines,
  type BaselineScore,
} from '../../workflows/core/baselines';
import { parseSearchConfig } from '../../workflows/core/config';
import { predecessors } from '../../workflows/core/dag';
import { argmax } from '../../workflows/core/swarm';
import { systemProblems } from '../../activities/system-runner';

describe('baselines (core)', () => {
  it('single, chain and star are runnable systems of the expected shape', () => {
    assert.deepEqual(systemProblems(SINGLE_GRAPH, [2], 3), []);
    const chain = chainGraph(4);
    assert.deepEqual(chain.edges, [
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    assert.equal(chain.sink, 3);
    assert.deepEqual(systemProblems(chain, [0, 1, 2, 3], 4), []);
    assert.deepEqual(chainGraph(1), { n: 1, edges: [], sink: 0, order: [0] }, 'a chain of one model is the model alone');

    // Hub = model 1: slots are models 0, 2, 3 (pool order), then the hub, which answers.
    const star = starSystem(4, 1);
    assert.deepEqual(star.assignment, [0, 2, 3, 1]);
    assert.equal(star.graph.sink, 3);
    assert.deepEqual(predecessors(star.graph)[3], [0, 1, 2]);
    assert.deepEqual(systemProblems(star.graph, star.assignment, 4), []);
  });

  it('best single: first of equal maxima; preference: best first, pool order among equals', () => {
    assert.equal(argmax([0.2, 0.5, 0.5, 0.1]), 1, 'the best single model: first of equal maxima');
    assert.deepEqual(preferenceOrder([0.2, 0.5, 0.5, 0.1]), [1, 2, 0, 3]);
  });

  it('vote: majority of parsed answers; unparsable ballots abstain; ties go to the preferred model', () => {
    const b = (parsed: string | null, correct = false) => ({ parsed, correct });
    assert.deepEqual(majorityVote([b('A'), b('B', true), b('B', true)], [0, 1, 2]), { parsed: 'B', correct: true, votes: 2 });
    assert.deepEqual(majorityVote([b('A'), b(null), b(null)], [2, 1, 0]), { parsed: 'A', correct: false, votes: 1 }, 'abstentions do not count');
    assert.deepEqual(majorityVote([b('A'), b('C', true)], [1, 0]), { parsed: 'C', correct: true, votes: 1 }, 'tie → model 1, preferred');
    assert.deepEqual(majorityVote([b('A'), b('C', true)], [0, 1]), { parsed: 'A', correct: false, votes: 1 }, 'tie → model 0, preferred');
    assert.deepEqual(majorityVote([b(null), b(null)], [0, 1]), { parsed: null, correct: false, votes: 0 });
    // Answers the scorer reads alike are one answer.
    assert.equal(normaliseAnswer(' 1,234 '), '1234');
    assert.equal(normaliseAnswer('Yes'), 'yes');
    assert.deepEqual(majorityVote([b('1,000', true), b('1000', true), b('7')], [2, 0, 1]), { parsed: '1,000', correct: true, votes: 2 });
  });

  it('config: all four by default, [] for none, "star"/"vote" need "single", no repeats', () => {
    const base = { study: 's', models: [{ id: 'a', baseURL: 'http://127.0.0.1:1/v1', model: 'a' }], task: { path: 'x.jsonl', type: 'multiple_choice' } };
    const parsed = parseSearchConfig(base);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.config.baselines, ['single', 'chain', 'star', 'vote']);
    const none = parseSearchConfig({ ...base, baselines: [] });
    assert.ok(none.ok && none.config.baselines.length === 0);
    const bad = parseSearchConfig({ ...base, baselines: ['chain', 'vote', 'chain', 'best'] });
    assert.ok(!bad.ok);
    const paths = bad.problems.map((p) => `${p.path}: ${p.message}`);
    assert.ok(paths.some((p) => p.startsWith('baselines[3]')), paths.join('\n'));
    assert.ok(!BaselineKindsSchema.safeParse(['vote']).success, 'vote without single');
    assert.match(BaselineKindsSchema.safeParse(['star']).error?.issues[0]?.message ?? '', /add "single"/);
    assert.match(BaselineKindsSchema.safeParse(['chain', 'chain']).error?.issues[0]?.message ?? '', /listed twice/);
  });

  it('report rows: best single, chain, star (with its hub), vote — only those that ran', () => {
    const s = (kind: BaselineScore['kind'], models: string[], test: number, dev: number | null = null): BaselineScore => ({
      kind,
      models,
      dev,
      test,
      correct: 0,
      total: 0,
      transcripts: { dev: null, test: 'k' },
    });
    const baselines: Baselines = {
      singles: [s('single', ['a'], 0.1, 0.3), s('single', ['b'], 0.4, 0.6)],
      bestSingle: 'b',
      star: s('star', ['a', 'b'], 0.5),
    };
    assert.deepEqual(
      baselineRows(baselines).map((r) => [r.name, r.score.test]),
      [
        ['best single (b)', 0.4],
        ['star (hub b)', 0.5],
      ],
    );
  });
});
