import assert from 'node:assert/strict';
import {
  drawFactors,
  psoStep,
  psoStepInto,
  psoWeights,
  restartDecision,
  stepLengthAt,
  type PsoCoefficients,
  type PsoOperands,
} from '../../workflows/core/pso';
import { createRng } from '../../workflows/core/rng';
import { ScriptedRng, assertAllClose, assertClose } from './stub-rng';

/** The paper's search-grid defaults (paper-notes "Our decisions" 3). */
const PAPER: PsoCoefficients = { inertia: 0.2, cognitive: 0.3, social: 0.4, repel: 0.05, repelEnabled: true, weightRandomness: true };

describe('core/pso', () => {
  describe('psoWeights (paper-notes §5.1: w = r·φ / C)', () => {
    it('computes w = r·φ / C on hand-computed numbers', () => {
      // w_v = 0.5·0.2 = 0.1, w_p = 0.5·0.3 = 0.15, w_g = 0.25·0.4 = 0.1, w_w = 1·0.05 = 0.05; C = 0.4.
      const w = psoWeights(PAPER, { rV: 0.5, rP: 0.5, rG: 0.25, rW: 1 });
      assertClose(w.inertia, 0.25, 'w_v');
      assertClose(w.cognitive, 0.375, 'w_p');
      assertClose(w.social, 0.25, 'w_g');
      assertClose(w.repel, 0.125, 'w_w');
    });

    it('with repelEnabled = false drops w_w from the terms and from C', () => {
      // C = 0.1 + 0.15 + 0.1 = 0.35
      const w = psoWeights({ ...PAPER, repelEnabled: false }, { rV: 0.5, rP: 0.5, rG: 0.25, rW: 1 });
      assertClose(w.inertia, 2 / 7, 'w_v');
      assertClose(w.cognitive, 3 / 7, 'w_p');
      assertClose(w.social, 2 / 7, 'w_g');
      assert.equal(w.repel, 0);
    });

    it('without randomness the weights are φ / Σφ', () => {
      const w = psoWeights(PAPER, { rV: 1, rP: 1, rG: 1, rW: 1 });
      assertClose(w.inertia, 0.2 / 0.95, 'w_v');
      assertClose(w.cognitive, 0.3 / 0.95, 'w_p');
      assertClose(w.social, 0.4 / 0.95, 'w_g');
      assertClose(w.repel, 0.05 / 0.95, 'w_w');
      assertClose(w.inertia + w.cognitive + w.social + w.repel, 1, 'sum');
    });

    it('rejects C = 0 (all coefficients or all factors zero)', () => {
      assert.throws(() => psoWeights({ ...PAPER, inertia: 0, cognitive: 0, social: 0, repel: 0 }, { rV: 1, rP: 1, rG: 1, rW: 1 }), RangeError);
      assert.throws(() => psoWeights(PAPER, { rV: 0, rP: 0, rG: 0, rW: 0 }), RangeError);
    });
  });

  describe('drawFactors', () => {
    it('returns r_v, r_p, r_g, r_w in draw order', () => {
      const rng = new ScriptedRng([0.1, 0.2, 0.3, 0.4, 0.9]);
      assert.deepEqual(drawFactors(rng, PAPER), { rV: 0.1, rP: 0.2, rG: 0.3, rW: 0.4 });
      assert.equal(rng.draws, 4);
    });

    it('weightRandomness = false ⇒ all r = 1, still consuming exactly 4 draws', () => {
      const rng = new ScriptedRng([0.1, 0.2, 0.3, 0.4, 0.9]);
      assert.deepEqual(drawFactors(rng, { ...PAPER, weightRandomness: false }), { rV: 1, rP: 1, rG: 1, rW: 1 });
      assert.equal(rng.draws, 4);
    });

    it('consumes 4 draws whatever the flags, so the stream stays aligned', () => {
      for (const repelEnabled of [true, false]) {
        for (const weightRandomness of [true, false]) {
          const rng = createRng(11);
          drawFactors(rng, { ...PAPER, repelEnabled, weightRandomness });
          const reference = createRng(11);
          for (let i = 0; i < 4; i++) reference.next();
          assert.equal(rng.next(), reference.next(), `repel ${repelEnabled}, randomness ${weightRandomness}`);
        }
      }
    });
  });

  describe('psoStep (velocity from the OLD x, position from the NEW v)', () => {
    // w = (0.25, 0.375, 0.25, 0.125), λ = 0.5.
    const weights = { inertia: 0.25, cognitive: 0.375, social: 0.25, repel: 0.125 };
    const operands: PsoOperands = {
      position: [1, -2],
      velocity: [0.4, 0],
      personalBest: [2, 0],
      globalBest: [3, -1],
      globalWorst: [0, 2],
    };

    it('v = w_v v + w_p (p − x) + w_g (g − x) + w_w (x − g_w); x = x + λ v', () => {
      // coord 0: 0.25·0.4 + 0.375·(2−1) + 0.25·(3−1) + 0.125·(1−0)   = 0.1 + 0.375 + 0.5 + 0.125 = 1.1
      //          x = 1 + 0.5·1.1 = 1.55
      // coord 1: 0.25·0 + 0.375·(0+2) + 0.25·(−1+2) + 0.125·(−2−2)    = 0.75 + 0.25 − 0.5 = 0.5
      //          x = −2 + 0.5·0.5 = −1.75
      const next = psoStep(operands, weights, 0.5);
      assertAllClose(next.velocity, [1.1, 0.5], 'velocity');
      assertAllClose(next.position, [1.55, -1.75], 'position');
    });

    it('the repel term pushes away from the global worst (its sign)', () => {
      const noRepel = psoStep(operands, { ...weights, repel: 0 }, 0.5);
      // Dropping +0.125·(x − g_w): coord 0 loses +0.125, coord 1 loses −0.5.
      assertAllClose(noRepel.velocity, [0.975, 1.0], 'velocity without repel');
    });

    it('does not mutate its operands', () => {
      const before = structuredClone(operands);
      psoStep(operands, weights, 0.5);
      assert.deepEqual(operands, before);
    });

    it('psoStepInto writing over its own inputs (aliasing) equals psoStep', () => {
      const expected = psoStep(operands, weights, 0.5);
      const x = Array.from(operands.position);
      const v = Array.from(operands.velocity);
      psoStepInto({ ...operands, position: x, velocity: v }, weights, 0.5, x, v);
      assert.deepEqual(x, expected.position);
      assert.deepEqual(v, expected.velocity);
    });

    it('works on Float32Array tensors (the weight step)', () => {
      const x = Float32Array.from([1, -2]);
      const v = Float32Array.from([0.4, 0]);
      psoStepInto({ ...operands, position: x, velocity: v }, weights, 0.5, x, v);
      assertAllClose(Array.from(v), [1.1, 0.5], 'velocity', 1e-6);
      assertAllClose(Array.from(x), [1.55, -1.75], 'position', 1e-6);
    });

    it('a particle at p = g with no velocity and repel off does not move', () => {
      const still = psoStep({ position: [0.3, 0.7], velocity: [0, 0], personalBest: [0.3, 0.7], globalBest: [0.3, 0.7], globalWorst: [9, 9] }, { ...weights, repel: 0 }, 1);
      assert.deepEqual(still.position, [0.3, 0.7]);
      assert.deepEqual(still.velocity, [0, 0]);
    });

    it('rejects operands of different lengths', () => {
      assert.throws(() => psoStep({ ...operands, globalWorst: [0] }, weights, 0.5), /globalWorst has length 1, expected 2/);
      assert.throws(() => psoStepInto(operands, weights, 0.5, [0, 0], [0]), /outVelocity/);
    });
  });

  describe('stepLengthAt', () => {
    it('factor 1 ⇒ constant λ (the official code, §10.4)', () => {
      for (const t of [1, 2, 3, 10, 100, 1000]) assert.equal(stepLengthAt(0.8, 1, 0.1, t), 0.8);
    });

    it('factor 0.95 ⇒ λ·0.95^(t−1), floored at the minimum', () => {
      assert.equal(stepLengthAt(0.8, 0.95, 0.1, 1), 0.8);
      assertClose(stepLengthAt(0.8, 0.95, 0.1, 2), 0.76);
      assertClose(stepLengthAt(0.8, 0.95, 0.1, 3), 0.722);
      assertClose(stepLengthAt(0.8, 0.95, 0.1, 11), 0.8 * 0.95 ** 10);
      // 0.8·0.95^40 ≈ 0.1028 > 0.1; 0.8·0.95^41 ≈ 0.0977 < 0.1.
      assertClose(stepLengthAt(0.8, 0.95, 0.1, 41), 0.1028097252520825, 't = 41', 1e-12);
      assert.equal(stepLengthAt(0.8, 0.95, 0.1, 42), 0.1);
      assert.equal(stepLengthAt(0.8, 0.95, 0.1, 500), 0.1);
    });
  });

  describe('restartDecision (§5.3, patience 6, restart patience 0.67 ⇒ threshold 4.02)', () => {
    const decide = (history: number[], best: number, cooldown: number) => restartDecision(history, best, cooldown, 0.67, 6);

    it('restarts when len − t0 ≥ 4.02, i.e. 5 entries since and including the first best', () => {
      assert.deepEqual(decide([0.5, 0.5, 0.5, 0.5], 0.5, 0), { restart: false, cooldown: 0 }, '4 entries: 4 < 4.02');
      assert.deepEqual(decide([0.5, 0.5, 0.5, 0.5, 0.5], 0.5, 0), { restart: true, cooldown: 4 }, '5 entries');
      // t0 is the FIRST index of the best value.
      assert.deepEqual(decide([0.1, 0.5, 0.2, 0.5, 0.3], 0.5, 0), { restart: false, cooldown: 0 }, 't0 = 1: 5 − 1 = 4');
      assert.deepEqual(decide([0.1, 0.5, 0.2, 0.5, 0.3, 0.5], 0.5, 0), { restart: true, cooldown: 4 }, 't0 = 1: 6 − 1 = 5');
      assert.deepEqual(decide([0.9, 0.1, 0.2, 0.3, 0.4, 0.5], 0.9, 0), { restart: true, cooldown: 4 }, 'worse entries also count');
    });

    it('a best in the last 4 entries never restarts', () => {
      assert.deepEqual(decide([0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.1, 0.1], 0.9, 0), { restart: false, cooldown: 0 });
    });

    it('cool-down: set to ⌊4.02⌋ = 4 on restart, then counts down, no restart while > 0', () => {
      const history = [0.7, 0.1, 0.1, 0.1, 0.1];
      let cooldown = 0;
      const restarts: boolean[] = [];
      const cooldowns: number[] = [];
      for (let call = 0; call < 11; call++) {
        const d = decide([...history, ...new Array<number>(call).fill(0.1)], 0.7, cooldown);
        restarts.push(d.restart);
        cooldowns.push(d.cooldown);
        cooldown = d.cooldown;
      }
      assert.deepEqual(restarts, [true, false, false, false, false, true, false, false, false, false, true]);
      assert.deepEqual(cooldowns, [4, 3, 2, 1, 0, 4, 3, 2, 1, 0, 4]);
    });

    it('the cool-down decrements (never below 0) also when not stale', () => {
      assert.deepEqual(decide([0.5], 0.5, 3), { restart: false, cooldown: 2 });
      assert.deepEqual(decide([0.5], 0.5, 0), { restart: false, cooldown: 0 });
    });

    it('uses restartPatience·patience, not a fixed 4', () => {
      // argparse defaults: 0.5 · 10 = 5 ⇒ 5 entries restart, cool-down 5.
      assert.deepEqual(restartDecision([1, 0, 0, 0], 1, 0, 0.5, 10), { restart: false, cooldown: 0 });
      assert.deepEqual(restartDecision([1, 0, 0, 0, 0], 1, 0, 0.5, 10), { restart: true, cooldown: 5 });
    });
  });
});
