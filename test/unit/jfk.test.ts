import assert from 'node:assert/strict';
import { drawAssignments, jfkScores, occupancy, scoresForSwarm } from '../../workflows/core/jfk';
import { createRng, type Rng } from '../../workflows/core/rng';
import { ScriptedRng, assertClose } from './stub-rng';

/** An Rng that forwards to `inner` and records the `n` of every `int(n)` call. */
function recordingRng(inner: Rng): Rng & { intArgs: number[]; nexts: number } {
  const rng = {
    intArgs: [] as number[],
    nexts: 0,
    next: () => {
      rng.nexts++;
      return inner.next();
    },
    int: (n: number) => {
      rng.intArgs.push(n);
      return inner.int(n);
    },
  };
  return rng;
}

/**
 * JFK straight from the paper's definition, written independently of the production code: walk every slot of
 * every assignment; each occupied slot contributes that assignment's system score once to its model.
 */
function jfkBySlots(assignments: readonly (readonly number[])[], systemScores: readonly number[], models: number): (number | null)[] {
  const sums = Array.from({ length: models }, () => 0);
  const seen = Array.from({ length: models }, () => 0);
  for (let t = 0; t < assignments.length; t++) {
    for (const m of assignments[t]!) {
      sums[m] = sums[m]! + systemScores[t]!;
      seen[m] = seen[m]! + 1;
    }
  }
  return sums.map((s, m) => (seen[m] === 0 ? null : s / seen[m]!));
}

describe('core/jfk (paper-notes §6)', () => {
  describe('jfkScores on hand-computed cases', () => {
    it('3 models, 2 slots, 3 assignments: JFK_i = Σ_t cnt_it·s_t / Σ_t cnt_it', () => {
      // a_0 = [0, 1] s_0 = 0.5 ; a_1 = [1, 1] s_1 = 0.25 ; a_2 = [2, 0] s_2 = 1
      // model 0: cnt = (1, 0, 1) ⇒ (0.5 + 1) / 2            = 0.75
      // model 1: cnt = (1, 2, 0) ⇒ (0.5 + 2·0.25) / 3 = 1/3
      // model 2: cnt = (0, 0, 1) ⇒ 1 / 1                     = 1
      const outcome = jfkScores(
        [
          [0, 1],
          [1, 1],
          [2, 0],
        ],
        [0.5, 0.25, 1],
        3,
      );
      assert.equal(outcome.scores.length, 3);
      assert.equal(outcome.scores[0], 0.75);
      assertClose(outcome.scores[1]!, 1 / 3, 'JFK_1');
      assert.equal(outcome.scores[2], 1);
      assert.deepEqual(outcome.slots, [2, 3, 1]);
      assert.equal(outcome.bestTrial, 2);
    });

    it('is a frequency-weighted mean, not the mean over the assignments a model took part in', () => {
      // a_0 = [1, 1, 1] s_0 = 0.9 ; a_1 = [0, 1, 2] s_1 = 0.1
      // model 1 fills 3 slots of a_0 and 1 of a_1: (3·0.9 + 0.1) / 4 = 0.7 (an unweighted mean would give 0.5)
      // models 0 and 2 only sit in a_1: 0.1
      const outcome = jfkScores(
        [
          [1, 1, 1],
          [0, 1, 2],
        ],
        [0.9, 0.1],
        3,
      );
      assertClose(outcome.scores[1]!, 0.7, 'JFK_1');
      assertClose(outcome.scores[0]!, 0.1, 'JFK_0');
      assertClose(outcome.scores[2]!, 0.1, 'JFK_2');
      assert.deepEqual(outcome.slots, [1, 4, 1]);
    });

    it('a model that fills two slots of one assignment counts twice (draws are with replacement, §10.8)', () => {
      // a_0 = [0, 0] s_0 = 1 ; a_1 = [0, 1] s_1 = 0  ⇒ JFK_0 = (2·1 + 1·0) / 3 = 2/3 (0/1 presence would give 1/2)
      const outcome = jfkScores(
        [
          [0, 0],
          [0, 1],
        ],
        [1, 0],
        2,
      );
      assertClose(outcome.scores[0]!, 2 / 3, 'JFK_0');
      assert.equal(outcome.scores[1], 0);
      assert.deepEqual(outcome.slots, [3, 1]);
    });

    it('agrees with a slot-by-slot evaluation of the definition on random assignments', () => {
      const rng = createRng(7);
      for (let round = 0; round < 20; round++) {
        const models = 1 + rng.int(6);
        const slots = 1 + rng.int(5);
        const trials = 1 + rng.int(8);
        const assignments = drawAssignments(rng, trials, slots, models);
        const scores = Array.from({ length: trials }, () => rng.next());
        const expected = jfkBySlots(assignments, scores, models);
        const actual = jfkScores(assignments, scores, models).scores;
        expected.forEach((e, m) => {
          if (e === null) assert.equal(actual[m], null, `round ${round}, model ${m}`);
          else assertClose(actual[m]!, e, `round ${round}, model ${m}`);
        });
      }
    });
  });

  describe('models never drawn', () => {
    // Models 0 and 1 share both assignments; model 2 is never drawn.
    const assignments = [
      [0, 1],
      [1, 1],
    ];
    const systemScores = [0.2, 0.6];

    it('have a null JFK-score and 0 slots (no division by zero)', () => {
      const outcome = jfkScores(assignments, systemScores, 3);
      assert.equal(outcome.scores[2], null);
      assert.equal(outcome.slots[2], 0);
      assertClose(outcome.scores[0]!, 0.2, 'JFK_0');
      assertClose(outcome.scores[1]!, (0.2 + 2 * 0.6) / 3, 'JFK_1');
    });

    it('scoresForSwarm keeps the previous score of a model never drawn, and uses the new JFK of the others', () => {
      const outcome = jfkScores(assignments, systemScores, 3);
      const scores = scoresForSwarm(outcome, [0.9, 0.9, 0.42], systemScores);
      assertClose(scores[0]!, 0.2, 'model 0: JFK, not its previous 0.9');
      assertClose(scores[1]!, 1.4 / 3, 'model 1: JFK, not its previous 0.9');
      assert.equal(scores[2], 0.42);
    });

    it('scoresForSwarm keeps a previous score of exactly 0 (it is a score, not a missing one)', () => {
      const outcome = jfkScores(assignments, systemScores, 3);
      assert.equal(scoresForSwarm(outcome, [undefined, undefined, 0], systemScores)[2], 0);
    });

    it('scoresForSwarm falls back to the mean of the system scores without a previous score', () => {
      const outcome = jfkScores(assignments, systemScores, 3);
      // mean(0.2, 0.6) = 0.4
      assertClose(scoresForSwarm(outcome, [], systemScores)[2]!, 0.4, 'no previous array entry');
      assertClose(scoresForSwarm(outcome, [0.1, undefined, undefined], systemScores)[2]!, 0.4, 'previous undefined');
      // Three assignments, one never drawn model: mean(1, 0, 0.5) = 0.5
      const three = jfkScores([[0], [0], [1]], [1, 0, 0.5], 3);
      assert.deepEqual(scoresForSwarm(three, [undefined, undefined, undefined], [1, 0, 0.5]), [0.5, 0.5, 0.5]);
    });
  });

  describe('bestTrial', () => {
    it('is the index of the highest system score', () => {
      assert.equal(jfkScores([[0], [0], [0], [0]], [0.1, 0.3, 0.9, 0.2], 1).bestTrial, 2);
    });

    it('is the first of equal maxima', () => {
      assert.equal(jfkScores([[0], [0], [0], [0]], [0.2, 0.7, 0.7, 0.1], 1).bestTrial, 1);
      assert.equal(jfkScores([[0], [0], [0]], [0.5, 0.5, 0.5], 1).bestTrial, 0);
      assert.equal(jfkScores([[0], [0], [0]], [0, 0, 1], 1).bestTrial, 2);
    });
  });

  describe('occupancy', () => {
    it('counts[t][i] = slots of assignment t that model i occupies', () => {
      assert.deepEqual(
        occupancy(
          [
            [2, 0, 2, 2],
            [1, 1, 3, 0],
          ],
          4,
        ),
        [
          [1, 0, 3, 0],
          [1, 2, 0, 1],
        ],
      );
    });
  });

  describe('drawAssignments', () => {
    it('draws exactly trials × slots ints, slot by slot within each trial, each over [0, models)', () => {
      const scripted = new ScriptedRng([], [3, 0, 2, 1, 1, 0]);
      const rng = recordingRng(scripted);
      const assignments = drawAssignments(rng, 2, 3, 4);
      assert.deepEqual(assignments, [
        [3, 0, 2],
        [1, 1, 0],
      ]);
      assert.equal(scripted.intCalls, 6);
      assert.equal(scripted.nextCalls, 0);
      assert.deepEqual(rng.intArgs, [4, 4, 4, 4, 4, 4]);
    });

    it('every drawn index is an integer in range, and every model gets drawn over many slots', () => {
      const rng = recordingRng(createRng(11));
      const assignments = drawAssignments(rng, 10, 10, 7);
      assert.equal(assignments.length, 10);
      assert.equal(rng.intArgs.length, 100);
      assert.equal(rng.nexts, 0);
      const seen = new Set<number>();
      for (const a of assignments) {
        assert.equal(a.length, 10);
        for (const m of a) {
          assert.ok(Number.isInteger(m) && m >= 0 && m < 7, `model index ${m}`);
          seen.add(m);
        }
      }
      assert.equal(seen.size, 7, 'with 100 uniform draws over 7 models all should appear');
    });

    it('same stream ⇒ same assignments', () => {
      assert.deepEqual(drawAssignments(createRng(3), 4, 5, 6), drawAssignments(createRng(3), 4, 5, 6));
      assert.notDeepEqual(drawAssignments(createRng(3), 4, 5, 6), drawAssignments(createRng(4), 4, 5, 6));
    });

    it('rejects a trial count that is not a positive integer', () => {
      assert.throws(() => drawAssignments(createRng(1), 0, 3, 3), RangeError);
      assert.throws(() => drawAssignments(createRng(1), -1, 3, 3), RangeError);
      assert.throws(() => drawAssignments(createRng(1), 1.5, 3, 3), RangeError);
    });
  });

  describe('errors', () => {
    it('mismatched numbers of assignments and scores', () => {
      assert.throws(() => jfkScores([[0], [1]], [0.5], 2), /2 assignments but 1 scores/);
      assert.throws(() => jfkScores([[0]], [0.5, 0.1], 2), RangeError);
    });

    it('no assignment at all', () => {
      assert.throws(() => jfkScores([], [], 2), /at least one assignment/);
    });

    it('model indices outside [0, models) or not integers', () => {
      assert.throws(() => jfkScores([[0, 3]], [0.5], 3), /names model 3; the pool has 3/);
      assert.throws(() => jfkScores([[-1]], [0.5], 3), RangeError);
      assert.throws(() => jfkScores([[0.5]], [0.5], 3), RangeError);
      assert.throws(() => occupancy([[1], [2]], 2), RangeError);
    });
  });
});
