import assert from 'node:assert/strict';
import type { Matrix } from '../../workflows/core/dag';
import { createRng, deriveRng } from '../../workflows/core/rng';
import {
  advanceSwarm,
  createGraphSwarm,
  initialPositions,
  initialVelocities,
  patienceExhausted,
  recordScores,
  type GraphSwarm,
  type SwarmSettings,
} from '../../workflows/core/swarm';
import { ScriptedRng, assertAllClose } from './stub-rng';

const m2 = (a: number, b: number): Matrix => [
  [0, a],
  [b, 0],
];

const SETTINGS: SwarmSettings = {
  coefficients: { inertia: 0.2, cognitive: 0.3, social: 0.4, repel: 0.1, repelEnabled: true, weightRandomness: true },
  stepLength: 0.5,
  stepLengthFactor: 1,
  minimumStepLength: 0.1,
  restartEnabled: true,
  restartPatience: 0.67,
  patience: 6,
};
/** r = (0.5, 0.5, 0.25, 0.5) with φ = (0.2, 0.3, 0.4, 0.1) ⇒ w = (0.1, 0.15, 0.1, 0.05) / 0.4 = (0.25, 0.375, 0.25, 0.125). */
const FACTORS = [0.5, 0.5, 0.25, 0.5];

describe('core/swarm', () => {
  describe('initialPositions', () => {
    it('U[0,1) entries with an exactly-zero diagonal', () => {
      const positions = initialPositions(5, 4, createRng(1));
      assert.equal(positions.length, 4);
      for (const a of positions) {
        assert.equal(a.length, 5);
        a.forEach((row, i) =>
          row.forEach((x, j) => {
            if (i === j) assert.equal(x, 0);
            else assert.ok(x >= 0 && x < 1, `A[${i}][${j}] = ${x}`);
          }),
        );
      }
    });

    it('draws row-major, particle by particle, skipping the diagonal', () => {
      const rng = new ScriptedRng([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((k) => k / 100));
      assert.deepEqual(initialPositions(3, 2, rng), [
        [[0, 0.01, 0.02], [0.03, 0, 0.04], [0.05, 0.06, 0]],
        [[0, 0.07, 0.08], [0.09, 0, 0.1], [0.11, 0.12, 0]],
      ]);
      assert.equal(rng.draws, 12);
    });

    it('same seed ⇒ identical swarm, different seed ⇒ different', () => {
      const make = (seed: number): GraphSwarm => {
        const rng = deriveRng(seed, 'init');
        const positions = initialPositions(4, 6, rng);
        const velocities = initialVelocities(positions, rng);
        return createGraphSwarm(positions, velocities, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
      };
      assert.deepEqual(make(42), make(42));
      assert.notDeepEqual(make(42).particles[0]!.position, make(43).particles[0]!.position);
      assert.notDeepEqual(make(42).particles[0]!.velocity, make(43).particles[0]!.velocity);
    });
  });

  describe('initialVelocities', () => {
    const positions = [m2(0.1, 0.2), m2(0.5, 0.7), m2(0.9, 0.4)];

    it('V_k = A_j − A_k with j drawn among the OTHER particles (int(G − 1), shifted past k)', () => {
      // int → 0 each time: k = 0 ⇒ j = 1; k = 1 ⇒ j = 0; k = 2 ⇒ j = 0.
      const zeros = initialVelocities(positions, new ScriptedRng([], [0, 0, 0]));
      assertAllClose(zeros[0]!.flat(), [0, 0.4, 0.5, 0], 'V_0 = A_1 − A_0');
      assertAllClose(zeros[1]!.flat(), [0, -0.4, -0.5, 0], 'V_1 = A_0 − A_1');
      assertAllClose(zeros[2]!.flat(), [0, -0.8, -0.2, 0], 'V_2 = A_0 − A_2');
      // int → 1 each time: k = 0 ⇒ j = 2; k = 1 ⇒ j = 2; k = 2 ⇒ j = 1.
      const ones = initialVelocities(positions, new ScriptedRng([], [1, 1, 1]));
      assertAllClose(ones[0]!.flat(), [0, 0.8, 0.2, 0], 'V_0 = A_2 − A_0');
      assertAllClose(ones[1]!.flat(), [0, 0.4, -0.3, 0], 'V_1 = A_2 − A_1');
      assertAllClose(ones[2]!.flat(), [0, -0.4, 0.3, 0], 'V_2 = A_1 − A_2');
    });

    it('with a real Rng: every V_k equals A_j − A_k for some j ≠ k, and every j ≠ k occurs', () => {
      const rng = createRng(8);
      const pos = initialPositions(3, 4, rng);
      const seen = new Set<string>();
      for (let round = 0; round < 50; round++) {
        initialVelocities(pos, rng).forEach((v, k) => {
          const matches = pos.map((a) => v.every((row, r) => row.every((x, c) => x === a[r]![c]! - pos[k]![r]![c]!)));
          const j = matches.indexOf(true);
          assert.ok(j >= 0 && j !== k, `V_${k} is not A_j − A_k for any j ≠ k`);
          seen.add(`${k}->${j}`);
        });
      }
      assert.equal(seen.size, 4 * 3);
    });
  });

  describe('createGraphSwarm', () => {
    it('p = x, history = [score], g = first argmax, g_w = first argmin, snapshots are copies', () => {
      const positions = [m2(0.1, 0.1), m2(0.2, 0.2), m2(0.3, 0.3), m2(0.4, 0.4), m2(0.5, 0.5)];
      const velocities = positions.map(() => m2(0, 0));
      const swarm = createGraphSwarm(positions, velocities, [0.5, 0.7, 0.7, 0.2, 0.2]);
      assert.deepEqual(swarm.globalBest, m2(0.2, 0.2), 'g = particle 1 (first of the tie)');
      assert.equal(swarm.globalBestScore, 0.7);
      assert.deepEqual(swarm.globalBestHistory, [0.7]);
      assert.deepEqual(swarm.globalWorst, m2(0.4, 0.4), 'g_w = particle 3 (first of the tie)');
      assert.equal(swarm.globalWorstScore, 0.2);
      swarm.particles.forEach((p, k) => {
        assert.deepEqual(p.personalBest, positions[k]);
        assert.deepEqual(p.history, [p.personalBestScore]);
        assert.equal(p.restartCooldown, 0);
      });
      positions[1]![0]![1] = 99;
      assert.equal(swarm.globalBest[0]![1], 0.2, 'g is a snapshot, not an alias of the input');
      assert.equal(swarm.particles[1]!.position[0]![1], 0.2);
      assert.equal(swarm.particles[1]!.personalBest[0]![1], 0.2);
    });

    it('rejects mismatched lengths', () => {
      assert.throws(() => createGraphSwarm([m2(0, 0)], [m2(0, 0)], [1, 2]), RangeError);
    });
  });

  describe('recordScores', () => {
    // Three particles created with scores [0.5, 0.7, 0.3]; then "moved" to new positions as an advance would.
    const start = (): GraphSwarm => {
      const created = createGraphSwarm([m2(1, 1), m2(2, 2), m2(3, 3)], [m2(0, 0), m2(0, 0), m2(0, 0)], [0.5, 0.7, 0.3]);
      return { ...created, particles: created.particles.map((p, k) => ({ ...p, position: m2(10 + k, 10 + k) })) };
    };

    it('p only on strict improvement; g and g_w unchanged on ties; history appends the unchanged best', () => {
      const swarm = start();
      const { swarm: next, iterationBest } = recordScores(swarm, [0.6, 0.7, 0.3]);
      assert.equal(iterationBest, 1);
      assert.deepEqual(next.particles.map((p) => p.personalBestScore), [0.6, 0.7, 0.3]);
      assert.deepEqual(next.particles[0]!.personalBest, m2(10, 10), 'p_0 ← x_0 (0.6 > 0.5)');
      assert.deepEqual(next.particles[1]!.personalBest, m2(2, 2), 'p_1 kept (0.7 is not > 0.7)');
      assert.deepEqual(next.particles[2]!.personalBest, m2(3, 3), 'p_2 kept (0.3 is not > 0.3)');
      assert.deepEqual(next.particles.map((p) => p.history), [[0.5, 0.6], [0.7, 0.7], [0.3, 0.3]]);
      assert.deepEqual(next.globalBest, m2(2, 2), 'g kept: 0.7 is not > 0.7');
      assert.equal(next.globalBestScore, 0.7);
      assert.deepEqual(next.globalBestHistory, [0.7, 0.7]);
      assert.deepEqual(next.globalWorst, m2(3, 3), 'g_w kept: 0.3 is not < 0.3');
      assert.equal(next.globalWorstScore, 0.3);
    });

    it('g ← this iteration\'s argmax position on strict improvement, g_w ← argmin on strict worsening', () => {
      const { swarm: next, iterationBest } = recordScores(start(), [0.9, 0.1, 0.95]);
      assert.equal(iterationBest, 2);
      assert.deepEqual(next.globalBest, m2(12, 12));
      assert.equal(next.globalBestScore, 0.95);
      assert.deepEqual(next.globalBestHistory, [0.7, 0.95]);
      assert.deepEqual(next.globalWorst, m2(11, 11));
      assert.equal(next.globalWorstScore, 0.1);
      assert.deepEqual(next.particles.map((p) => p.personalBestScore), [0.9, 0.7, 0.95]);
    });

    it('iterationBest is THIS iteration\'s argmax (first on ties) even when g does not change', () => {
      const { swarm: next, iterationBest } = recordScores(start(), [0.4, 0.2, 0.4]);
      assert.equal(iterationBest, 0);
      assert.deepEqual(next.globalBest, m2(2, 2));
      assert.deepEqual(next.globalBestHistory, [0.7, 0.7]);
    });

    it('does not mutate its input', () => {
      const swarm = start();
      const before = structuredClone(swarm);
      const { swarm: next } = recordScores(swarm, [0.9, 0.1, 0.95]);
      assert.deepEqual(swarm, before);
      next.globalBest[0]![1] = -1;
      next.particles[0]!.personalBest[0]![1] = -1;
      assert.deepEqual(swarm, before, 'new p and g snapshots are copies of the positions, not aliases');
    });

    it('rejects a wrong number of scores', () => {
      assert.throws(() => recordScores(start(), [1, 2]), RangeError);
    });
  });

  describe('advanceSwarm', () => {
    /** A hand-made 2-particle swarm of 2x2 matrices. */
    const tiny = (): GraphSwarm => ({
      particles: [
        {
          position: m2(1, -2),
          velocity: m2(0.4, 0),
          personalBest: m2(2, 0),
          personalBestScore: 0.5,
          history: [0.5],
          restartCooldown: 0,
        },
        {
          position: m2(5, 5),
          velocity: m2(7, 7),
          personalBest: m2(1, 1),
          personalBestScore: 0.9,
          history: [0.9, 0.4, 0.4, 0.4, 0.4], // 5 entries since the best ⇒ stale
          restartCooldown: 0,
        },
      ],
      globalBest: m2(3, -1),
      globalBestScore: 0.9,
      globalBestHistory: [0.9],
      globalWorst: m2(0, 2),
      globalWorstScore: 0.1,
    });

    it('PSO step on hand-computed numbers; a stale particle restarts (x ← p, v ← 0) before its step', () => {
      const rng = new ScriptedRng([...FACTORS, ...FACTORS]);
      const next = advanceSwarm(tiny(), SETTINGS, 1, rng);
      assert.equal(rng.draws, 8, 'exactly 4 draws per particle');
      // Particle 0 (no restart), w = (0.25, 0.375, 0.25, 0.125), λ = 0.5:
      //   A[0][1]: x 1, v 0.4, p 2, g 3, g_w 0   ⇒ v = 0.1 + 0.375 + 0.5 + 0.125 = 1.1,  x = 1 + 0.55 = 1.55
      //   A[1][0]: x −2, v 0, p 0, g −1, g_w 2  ⇒ v = 0.75 + 0.25 − 0.5 = 0.5,          x = −2 + 0.25 = −1.75
      const p0 = next.particles[0]!;
      assertAllClose(p0.velocity.flat(), [0, 1.1, 0.5, 0], 'particle 0 velocity');
      assertAllClose(p0.position.flat(), [0, 1.55, -1.75, 0], 'particle 0 position');
      assert.equal(p0.restartCooldown, 0);
      // Particle 1 restarts: x = p = (1, 1), v = 0, so v = w_g (g − p) + w_w (p − g_w):
      //   A[0][1]: 0.25·(3 − 1) + 0.125·(1 − 0) = 0.625,       x = 1 + 0.3125 = 1.3125
      //   A[1][0]: 0.25·(−1 − 1) + 0.125·(1 − 2) = −0.625,     x = 1 − 0.3125 = 0.6875
      const p1 = next.particles[1]!;
      assertAllClose(p1.velocity.flat(), [0, 0.625, -0.625, 0], 'particle 1 velocity');
      assertAllClose(p1.position.flat(), [0, 1.3125, 0.6875, 0], 'particle 1 position');
      assert.equal(p1.restartCooldown, 4, 'cool-down ⌊0.67·6⌋');
      // Bookkeeping is untouched by the advance.
      assert.deepEqual(p1.personalBest, m2(1, 1));
      assert.deepEqual(p1.history, [0.9, 0.4, 0.4, 0.4, 0.4]);
      assert.deepEqual(next.globalBest, m2(3, -1));
      assert.deepEqual(next.globalBestHistory, [0.9]);
    });

    it('without restarts the stale particle takes a plain PSO step from its own x and v', () => {
      const next = advanceSwarm(tiny(), { ...SETTINGS, restartEnabled: false }, 1, new ScriptedRng([...FACTORS, ...FACTORS]));
      // A[0][1] = A[1][0]: 0.25·7 + 0.375·(1 − 5) + 0.25·(g − 5) + 0.125·(5 − g_w)
      //   g 3,  g_w 0: 1.75 − 1.5 − 0.5 + 0.625 = 0.375,  x = 5.1875
      //   g −1, g_w 2: 1.75 − 1.5 − 1.5 + 0.375 = −0.875, x = 4.5625
      const p1 = next.particles[1]!;
      assertAllClose(p1.velocity.flat(), [0, 0.375, -0.875, 0], 'velocity');
      assertAllClose(p1.position.flat(), [0, 5.1875, 4.5625, 0], 'position');
      assert.equal(p1.restartCooldown, 0);
    });

    it('the step length follows stepLengthAt (decay 0.5 at iteration 3 ⇒ λ = 0.125)', () => {
      const next = advanceSwarm(tiny(), { ...SETTINGS, stepLengthFactor: 0.5, minimumStepLength: 0 }, 3, new ScriptedRng([...FACTORS, ...FACTORS]));
      assertAllClose(next.particles[0]!.position.flat(), [0, 1 + 0.125 * 1.1, -2 + 0.125 * 0.5, 0], 'position');
    });

    it('does not mutate its input and shares no matrices with it', () => {
      const swarm = tiny();
      const before = structuredClone(swarm);
      const next = advanceSwarm(swarm, SETTINGS, 1, new ScriptedRng([...FACTORS, ...FACTORS]));
      assert.deepEqual(swarm, before);
      for (const p of next.particles) {
        p.position[0]![1] = NaN;
        p.velocity[0]![1] = NaN;
        p.personalBest[0]![1] = NaN;
        p.history.push(NaN);
      }
      assert.deepEqual(swarm, before);
    });

    it('keeps every diagonal exactly 0 over a long random run (with restarts and repel)', () => {
      const rng = deriveRng(5, 'init');
      const positions = initialPositions(6, 5, rng);
      let swarm = createGraphSwarm(positions, initialVelocities(positions, rng), positions.map(() => rng.next()));
      const scores = createRng(6);
      let restarts = 0;
      for (let t = 1; t <= 30; t++) {
        const advanced = advanceSwarm(swarm, { ...SETTINGS, coefficients: { ...SETTINGS.coefficients, repel: 0.05 } }, t, deriveRng(5, 'role', t));
        restarts += advanced.particles.filter((p, k) => p.restartCooldown > swarm.particles[k]!.restartCooldown).length;
        for (const p of advanced.particles) {
          for (const m of [p.position, p.velocity, p.personalBest]) m.forEach((row, i) => assert.ok(row[i] === 0, `t ${t}: diagonal ${row[i]}`));
        }
        swarm = recordScores(advanced, advanced.particles.map(() => scores.next() * 0.5)).swarm;
      }
      assert.ok(restarts > 0, 'the run exercised restarts');
    });

    it('is deterministic for the same Rng stream', () => {
      const a = advanceSwarm(tiny(), SETTINGS, 2, deriveRng(1, 'role', 2));
      const b = advanceSwarm(tiny(), SETTINGS, 2, deriveRng(1, 'role', 2));
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, advanceSwarm(tiny(), SETTINGS, 2, deriveRng(2, 'role', 2)));
    });
  });

  describe('patienceExhausted (§1.2 step 0)', () => {
    it('needs more than `patience` entries, the last `patience` of them equal', () => {
      assert.equal(patienceExhausted([1, 1, 1, 1, 1, 1], 6), false, 'exactly 6 entries is not enough');
      assert.equal(patienceExhausted([0.5, 1, 1, 1, 1, 1, 1], 6), true, '7 entries, last 6 equal');
      assert.equal(patienceExhausted([0.5, 0.9, 1, 1, 1, 1, 1], 6), false, 'an improvement 5 entries ago');
      assert.equal(patienceExhausted([0.5, 0.9, 1, 1, 1, 1, 1, 1], 6), true);
      assert.equal(patienceExhausted([1, 1, 1, 1, 1, 1, 2], 6), false, 'just improved');
      assert.equal(patienceExhausted([0.2], 1), false);
      assert.equal(patienceExhausted([0.2, 0.2], 1), true);
    });
  });
});
