import assert from 'node:assert/strict';
import { decodeGraph, maskedSoftmax, predecessors, topologicalOrder, topPSelect, type DecodedGraph, type Matrix } from '../../workflows/core/dag';
import { createRng, deriveRng, type Rng } from '../../workflows/core/rng';
import { ScriptedRng, assertAllClose, forbiddenRng } from './stub-rng';

function randomMatrix(n: number, rng: Rng, signed: boolean): Matrix {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 0 : signed ? rng.next() * 2 - 1 : rng.next())),
  );
}

/** Every structural property G-Decode guarantees (paper-notes §2.2 "Properties"). */
function assertInTree(g: DecodedGraph, n: number, label: string): void {
  assert.equal(g.n, n, `${label}: n`);
  assert.equal(g.edges.length, n - 1, `${label}: n − 1 edges`);
  assert.ok(Number.isInteger(g.sink) && g.sink >= 0 && g.sink < n, `${label}: sink in range`);
  const outDegree = new Array<number>(n).fill(0);
  for (const [from, to] of g.edges) {
    assert.ok(from >= 0 && from < n && to >= 0 && to < n && from !== to, `${label}: edge ${from}→${to}`);
    outDegree[from]!++;
  }
  outDegree.forEach((d, node) => assert.equal(d, node === g.sink ? 0 : 1, `${label}: out-degree of ${node}`));
  // The order is a permutation, every edge goes forward in it (⇒ acyclic), and the sink is last.
  assert.deepEqual([...g.order].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), `${label}: order is a permutation`);
  const position = new Map(g.order.map((node, t) => [node, t]));
  for (const [from, to] of g.edges) assert.ok(position.get(from)! < position.get(to)!, `${label}: edge ${from}→${to} against the order`);
  assert.equal(g.order[n - 1], g.sink, `${label}: sink last`);
  assert.deepEqual(g.order, topologicalOrder(n, g.edges), `${label}: order is the Kahn scan order`);
}

describe('core/dag', () => {
  describe('maskedSoftmax', () => {
    it('is exp-normalised over the live entries', () => {
      const e1 = Math.exp(1);
      const e2 = Math.exp(2);
      assertAllClose(maskedSoftmax([1, 2]), [e1 / (e1 + e2), e2 / (e1 + e2)]);
      assertAllClose(maskedSoftmax([-1, 3, 0.5]), [Math.exp(-1), Math.exp(3), Math.exp(0.5)].map((q, _, all) => q / all.reduce((a, b) => a + b, 0)));
    });

    it('masks exact zeros ("no edge") instead of giving them weight exp(0)', () => {
      const e1 = Math.exp(1);
      const em = Math.exp(-0.5);
      assertAllClose(maskedSoftmax([0, 1, -0.5]), [0, e1 / (e1 + em), em / (e1 + em)]);
      assert.deepEqual(maskedSoftmax([0, -3]), [0, 1]);
      assert.deepEqual(maskedSoftmax([0, 0]), [0, 0], 'nothing left ⇒ all zeros');
    });

    it('honours an explicit mask', () => {
      assert.deepEqual(maskedSoftmax([5, 1], [true, false]), [0, 1]);
      assert.deepEqual(maskedSoftmax([5, 1], [true, true]), [0, 0]);
    });

    it('+Infinity takes all the mass (shared equally), no NaN', () => {
      assert.deepEqual(maskedSoftmax([Infinity, 1, 2]), [1, 0, 0]);
      assert.deepEqual(maskedSoftmax([Infinity, 1, Infinity]), [0.5, 0, 0.5]);
      assert.deepEqual(maskedSoftmax([Infinity, 1], [true, false]), [0, 1], 'a masked Infinity does not count');
    });

    it('does not overflow on large scores', () => {
      const p = maskedSoftmax([1000, 999]);
      assert.ok(p.every(Number.isFinite));
      assertAllClose(p, [1 / (1 + Math.exp(-1)), Math.exp(-1) / (1 + Math.exp(-1))]);
    });
  });

  describe('topPSelect', () => {
    it('topP = 0 is argmax with ties toward the larger index, and draws nothing', () => {
      assert.equal(topPSelect([0.2, 0.5, 0.3], 0, forbiddenRng), 1);
      assert.equal(topPSelect([0.25, 0.25, 0.5], 0, forbiddenRng), 2);
      assert.equal(topPSelect([0.5, 0.5, 0], 0, forbiddenRng), 1);
      assert.equal(topPSelect([0.4, 0.2, 0.4], 0, undefined), 2);
    });

    it('keeps the shortest prefix with cumulative > topP and samples from softmax(probabilities)', () => {
      // [0.5, 0.3, 0.2], topP 0.6: 0.5 ≤ 0.6, 0.8 > 0.6 ⇒ nucleus {0, 1}. The code re-applies exp to the
      // probabilities (§10.2): P(0) = e^0.5 / (e^0.5 + e^0.3) = 1 / (1 + e^−0.2) ≈ 0.549834, not 0.5/0.8 = 0.625.
      const p0 = 1 / (1 + Math.exp(-0.2));
      assert.equal(topPSelect([0.5, 0.3, 0.2], 0.6, new ScriptedRng([p0 - 0.001])), 0);
      assert.equal(topPSelect([0.5, 0.3, 0.2], 0.6, new ScriptedRng([p0 + 0.001])), 1, 'u = 0.551 ∈ (0.5498, 0.625): exp-of-probabilities quirk');
      assert.equal(topPSelect([0.5, 0.3, 0.2], 0.6, new ScriptedRng([0.999])), 1, 'index 2 is outside the nucleus');
    });

    it('the nucleus needs cumulative probability STRICTLY above topP', () => {
      // topP 0.5 with a leading 0.5: 0.5 is not > 0.5, so index 1 joins the nucleus and one draw is made.
      const rng = new ScriptedRng([0.99]);
      assert.equal(topPSelect([0.5, 0.3, 0.2], 0.5, rng), 1);
      assert.equal(rng.draws, 1);
      // topP 0.49: the leading 0.5 alone exceeds it ⇒ deterministic, no draw.
      assert.equal(topPSelect([0.5, 0.3, 0.2], 0.49, forbiddenRng), 0);
    });

    it('topP > 0 with a multi-entry nucleus needs an Rng', () => {
      assert.throws(() => topPSelect([0.5, 0.5], 0.8, undefined), /seeded Rng/);
    });
  });

  describe('decodeGraph, greedy (topP = 0), hand-worked cases', () => {
    it('4x4 chain: sink = smallest positive row sum, then largest row sums, each to its strongest placed node', () => {
      const a: Matrix = [
        [0, 0.1, 0.2, 0.3], // sum 0.6
        [0.9, 0, 0.5, 0.4], // sum 1.8
        [0.2, 0.1, 0, 0.1], // sum 0.4  ← sink
        [0.3, 0.6, 0.2, 0], // sum 1.1
      ];
      // placed {2}: u = 1 (1.8) → 2; placed {1,2}: u = 3 (1.1) → argmax(A[3][1]=0.6, A[3][2]=0.2) = 1;
      // placed {1,2,3}: u = 0 → argmax(0.1, 0.2, 0.3) = 3.
      const g = decodeGraph(a, 0, forbiddenRng);
      assert.deepEqual(g, { n: 4, sink: 2, edges: [[1, 2], [3, 1], [0, 3]], order: [0, 3, 1, 2] });
    });

    it('4x4 with ties, a negative row sum and an exact-zero (masked) entry', () => {
      const a: Matrix = [
        [0, -0.25, 1.25, 0], // sum 1
        [0.25, 0, 0.125, 0.125], // sum 0.5  ← sink (1/d = 2 is the largest; row 2 has 1/d = −2)
        [0.25, -1, 0, 0.25], // sum −0.5
        [0.5, 0.25, 0.25, 0], // sum 1
      ];
      // placed {1}: rows 0 and 3 tie at 1 ⇒ the larger index, u = 3 → 1.
      // placed {1,3}: u = 0 (1 > −0.5); A[0][1] = −0.25, A[0][3] = 0 is "no edge" (masked) ⇒ 0 → 1,
      //   although exp(0) > exp(−0.25) would win without the mask.
      // placed {0,1,3}: u = 2; A[2][0] = 0.25 ties A[2][3] = 0.25 ⇒ the larger index, 2 → 3.
      // Kahn scan: 0 (in-degree 0), 1 skipped (2 in), 2 (frees 3), 3 (frees 1) | next scan: 1.
      const g = decodeGraph(a, 0);
      assert.deepEqual(g, { n: 4, sink: 1, edges: [[3, 1], [0, 1], [2, 3]], order: [0, 2, 3, 1] });
    });

    it('3x3 with a tie for the sink (toward the larger index)', () => {
      const a: Matrix = [
        [0, 0.25, 0.25], // sum 0.5
        [0.25, 0, 0.25], // sum 0.5  ← sink (tie with 0)
        [0.5, 0.25, 0], // sum 0.75
      ];
      // placed {1}: u = 2 → 1; placed {1,2}: u = 0, A[0][1] = A[0][2] = 0.25 ⇒ 2.
      assert.deepEqual(decodeGraph(a, 0), { n: 3, sink: 1, edges: [[2, 1], [0, 2]], order: [0, 2, 1] });
    });

    it('a row sum of exactly 0 gives 1/0 = +Infinity: that node is the sink (no NaN)', () => {
      const a: Matrix = [
        [0, 0.5, 0.25],
        [0, 0, 0], // sum 0 ⇒ 1/0 = +Infinity
        [0.25, 0.5, 0],
      ];
      // placed {1}: sums 0.75 (0) vs 0.75 (2): tie ⇒ 2 → 1; then 0 → argmax(A[0][1] = 0.5, A[0][2] = 0.25) = 1.
      assert.deepEqual(decodeGraph(a, 0), { n: 3, sink: 1, edges: [[2, 1], [0, 1]], order: [0, 2, 1] });
    });

    it('every successor candidate exactly 0 ⇒ uniform over the placed nodes, greedy takes the larger index', () => {
      const a: Matrix = [
        [0, 0, 0, 0.5], // sum 0.5
        [0.125, 0, 0, 0], // sum 0.125 ← sink
        [0.5, 0.5, 0, 0], // sum 1
        [0.25, 0, 0, 0], // sum 0.25
      ];
      // placed {1}: u = 2 → 1. placed {1,2}: u = 0, A[0][1] = A[0][2] = 0, all masked (the code would give NaN)
      // ⇒ uniform ⇒ 0 → 2. placed {0,1,2}: u = 3 → 0. Kahn: scan 1 takes 3 (frees 0), scan 2 takes 0 and 2, scan 3 takes 1.
      assert.deepEqual(decodeGraph(a, 0), { n: 4, sink: 1, edges: [[2, 1], [0, 2], [3, 0]], order: [3, 0, 2, 1] });
    });

    it('the all-zero matrix decodes deterministically (every choice a masked tie ⇒ the larger index)', () => {
      // sink: 1/0 = +Infinity everywhere ⇒ 2; then u = 1 → 2, u = 0 → 2.
      assert.deepEqual(decodeGraph([[0, 0, 0], [0, 0, 0], [0, 0, 0]], 0), { n: 3, sink: 2, edges: [[1, 2], [0, 2]], order: [0, 1, 2] });
    });

    it('N = 1 decodes to a single sink with no edges', () => {
      assert.deepEqual(decodeGraph([[0]], 0), { n: 1, sink: 0, edges: [], order: [0] });
    });

    it('rejects a non-square matrix or a non-zero diagonal', () => {
      assert.throws(() => decodeGraph([], 0), /empty/);
      assert.throws(() => decodeGraph([[0, 1], [1]], 0), /row 1 has 1 entries, expected 2/);
      assert.throws(() => decodeGraph([[0, 1], [1, 0.5]], 0), /diagonal/);
    });
  });

  describe('decodeGraph, properties over 500 seeded random matrices', () => {
    it('always an in-tree rooted at the sink with a valid topological order; input never mutated', () => {
      const rng = createRng(2502);
      for (let trial = 0; trial < 500; trial++) {
        const n = 1 + (trial % 10);
        const signed = trial % 2 === 1;
        const a = randomMatrix(n, rng, signed);
        const before = structuredClone(a);
        const greedy = decodeGraph(a, 0, forbiddenRng);
        assert.deepEqual(a, before, `trial ${trial}: greedy decode mutated its input`);
        assertInTree(greedy, n, `trial ${trial} greedy (n ${n}, signed ${signed})`);
        assert.deepEqual(decodeGraph(a, 0), greedy, `trial ${trial}: greedy decode is deterministic`);
        if (trial % 5 === 0) {
          const sampled = decodeGraph(a, 0.8, deriveRng(trial, 'decode'));
          assert.deepEqual(a, before, `trial ${trial}: top-p decode mutated its input`);
          assertInTree(sampled, n, `trial ${trial} top-p`);
        }
      }
    });

    it('greedy: the sink has the smallest positive row sum, and on U[0,1) the first placed node has the largest', () => {
      const rng = createRng(99);
      for (let trial = 0; trial < 100; trial++) {
        const n = 2 + (trial % 9);
        const a = randomMatrix(n, rng, false);
        const sums = a.map((row) => row.reduce((s, x) => s + x, 0));
        const g = decodeGraph(a, 0);
        assert.equal(sums[g.sink], Math.min(...sums), `trial ${trial}: sink`);
        const others = sums.filter((_, i) => i !== g.sink);
        assert.equal(sums[g.edges[0]![0]], Math.max(...others), `trial ${trial}: first placed node`);
        assert.equal(g.edges[0]![1], g.sink, `trial ${trial}: the first placed node feeds the sink`);
      }
    });
  });

  describe('decodeGraph, top-p (topP > 0)', () => {
    const a = randomMatrix(10, createRng(4), false);

    it('is reproducible for the same seed', () => {
      for (const seed of [0, 1, 2, 3]) {
        assert.deepEqual(decodeGraph(a, 0.8, deriveRng(seed, 'decode')), decodeGraph(a, 0.8, deriveRng(seed, 'decode')));
      }
    });

    it('varies across seeds, and differs from greedy for some seed', () => {
      const greedy = JSON.stringify(decodeGraph(a, 0).edges);
      const decoded = Array.from({ length: 20 }, (_, seed) => JSON.stringify(decodeGraph(a, 0.8, deriveRng(seed, 'decode')).edges));
      assert.ok(new Set(decoded).size >= 5, `only ${new Set(decoded).size} distinct graphs over 20 seeds`);
      assert.ok(decoded.some((d) => d !== greedy));
    });

    it('topP = 0 consumes no randomness even when an Rng is given', () => {
      const rng = new ScriptedRng([]);
      decodeGraph(a, 0, rng);
      assert.equal(rng.draws, 0);
    });

    it('topP > 0 without an Rng is refused', () => {
      assert.throws(() => decodeGraph(a, 0.8), /seeded Rng/);
    });
  });

  describe('topologicalOrder (Kahn scan, §2.3)', () => {
    it('a node freed during a scan is appended later in the SAME scan', () => {
      // 2 → 0: scan 1 skips 0 (in-degree 1), takes 1, takes 2 (frees 0); scan 2 takes 0.
      assert.deepEqual(topologicalOrder(3, [[2, 0]]), [1, 2, 0]);
      // 1 → 0: a min-index heap would give [1, 0, 2]; the scan has passed 0 when 1 frees it.
      assert.deepEqual(topologicalOrder(3, [[1, 0]]), [1, 2, 0]);
      // 0 → 2, 3 → 1: level-by-level Kahn would give [0, 3, 1, 2]; the scan takes 2 right after 0 frees it.
      assert.deepEqual(topologicalOrder(4, [[0, 2], [3, 1]]), [0, 2, 3, 1]);
      // 0 → 1 → 2 → 3 all in one scan.
      assert.deepEqual(topologicalOrder(4, [[0, 1], [1, 2], [2, 3]]), [0, 1, 2, 3]);
      // 3 → 2 → 1 → 0 needs four scans.
      assert.deepEqual(topologicalOrder(4, [[3, 2], [2, 1], [1, 0]]), [3, 2, 1, 0]);
    });

    it('no edges ⇒ index order', () => {
      assert.deepEqual(topologicalOrder(4, []), [0, 1, 2, 3]);
    });

    it('throws on a cycle and on edges outside 0..n−1', () => {
      assert.throws(() => topologicalOrder(2, [[0, 1], [1, 0]]), /cycle/);
      assert.throws(() => topologicalOrder(3, [[0, 1], [1, 2], [2, 1]]), /cycle/);
      assert.throws(() => topologicalOrder(2, [[0, 2]]), /outside/);
      assert.throws(() => topologicalOrder(2, [[-1, 0]]), /outside/);
    });
  });

  describe('predecessors', () => {
    it('lists each node\'s predecessors in increasing index (§10.11), not edge or topological order', () => {
      const graph = { n: 5, edges: [[4, 1], [0, 1], [2, 3], [3, 1]] as [number, number][] };
      assert.deepEqual(predecessors(graph), [[], [0, 3, 4], [], [2], []]);
    });
  });
});
