/** `voteBaseline`: the per-item majority over single-model transcripts in a real file blob store. */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createBaselineActivities, type VoteTranscript } from '../../activities/baselines';
import { createFsBlobStore, type BlobStore } from '../../activities/blob-store';
import type { Transcript } from '../../activities/evaluate';
import { tmpDirs } from './tmp-dir';

/** A single model's transcript: `answers[i]` is its parsed answer to item i (null: unparsable). */
function single(model: string, answers: (string | null)[], gold: string[]): Transcript {
  return {
    version: 1,
    label: { study: 's', iteration: 0, step: 'baseline' },
    split: 'test',
    taskSha256: 'f'.repeat(64),
    graph: { n: 1, edges: [], sink: 0, order: [0] },
    assignment: [model],
    items: answers.map((parsed, i) => ({ id: `t${i}`, gold: gold[i]!, parsed, correct: parsed === gold[i], nodes: [] })),
  };
}

describe('voteBaseline', () => {
  const dirs = tmpDirs('vote');
  let blobs: BlobStore;
  beforeEach(async () => {
    blobs = createFsBlobStore(await dirs.make());
  });
  after(() => dirs.cleanup());

  it('scores the majority per item (ties to the preferred model, unparsable abstains) and stores every ballot', async () => {
    const gold = ['A', 'B', 'C', 'D'];
    const keys = await Promise.all([
      blobs.putJson(single('a', ['A', 'C', null, 'A'], gold)),
      blobs.putJson(single('b', ['A', 'B', null, 'D'], gold)),
      blobs.putJson(single('c', ['B', 'C', null, 'B'], gold)),
    ]);
    const { voteBaseline } = createBaselineActivities({ blobs });
    // Preference b, a, c: item t3 is a three-way tie, b's D wins.
    const result = await voteBaseline({ study: 's', split: 'test', transcripts: keys, preference: [1, 0, 2] });
    // t0 A (2 votes) ✓, t1 C (2) ✗, t2 nobody parsable ✗ (unparsable), t3 tie → D ✓.
    assert.deepEqual([result.score, result.correct, result.total, result.unparsable], [0.5, 2, 4, 1]);
    const transcript = (await blobs.getJson(result.transcriptKey)) as VoteTranscript;
    assert.deepEqual(
      transcript.items.map((i) => [i.id, i.ballots, i.parsed, i.correct]),
      [
        ['t0', ['A', 'A', 'B'], 'A', true],
        ['t1', ['C', 'B', 'C'], 'C', false],
        ['t2', [null, null, null], null, false],
        ['t3', ['A', 'D', 'B'], 'D', true],
      ],
    );
    assert.deepEqual(
      transcript.sources.map((s) => s.model),
      ['a', 'b', 'c'],
    );
  });

  it('refuses transcripts of different items (non-retryable)', async () => {
    const keys = await Promise.all([blobs.putJson(single('a', ['A', 'B'], ['A', 'B'])), blobs.putJson(single('b', ['A'], ['A']))]);
    const error = await createBaselineActivities({ blobs })
      .voteBaseline({ study: 's', split: 'test', transcripts: keys, preference: [0, 1] })
      .then(() => assert.fail('must refuse'), (e: unknown) => e);
    assert.ok(error instanceof ApplicationFailure && error.nonRetryable, String(error));
    assert.match(error.message, /holds other items/);
  });
});
