import assert from 'node:assert/strict';
import type { ModelSpec } from '../../workflows/core/config';
import type { Matrix } from '../../workflows/core/dag';
import { drawFactors, psoWeights, restartDecision } from '../../workflows/core/pso';
import { createRng, deriveRng } from '../../workflows/core/rng';
import { advanceSwarm, createGraphSwarm, planParticleStep, recordScores, type GraphSwarm, type Particle, type SwarmSettings } from '../../workflows/core/swarm';
import {
  applyWeightUpdates,
  createWeightSwarm,
  modelsAt,
  planWeightUpdates,
  recordWeightScores,
  velocityPartners,
  weightGroups,
  type WeightSwarm,
  type WeightUpdatePlan,
} from '../../workflows/core/weight-swarm';
import { ScriptedRng, assertClose, forbiddenRng } from './stub-rng';

type Adapter = NonNullable<ModelSpec['adapter']>;
const adapter = (base: string, path = `${base}.gguf`): Adapter => ({ path, format: 'gguf', base, hotLoad: 'load_lora_adapter' });

const SETTINGS: SwarmSettings = {
  coefficients: { inertia: 0.2, cognitive: 0.3, social: 0.4, repel: 0.1, repelEnabled: true, weightRandomness: true },
  stepLength: 0.5,
  stepLengthFactor: 1,
  minimumStepLength: 0.1,
  restartEnabled: true,
  restartPatience: 0.67,
  patience: 6,
};

/** Blob-key-looking position names: the weight swarm treats them as opaque strings. */
const key = (label: string): string => `sha256:${label}`;

function particle(label: string, history: number[], restartCooldown = 0, personalBestScore = Math.max(...history)): Particle<string> {
  return {
    position: key(`x-${label}`),
    velocity: key(`v-${label}`),
    personalBest: key(`p-${label}`),
    personalBestScore,
    history,
    restartCooldown,
  };
}

/**
 * Three particles (pool indices 2, 5, 7):
 * - 0: fresh (history [0.5]) → no restart;
 * - 1: stale (best 0.9 first at index 0, 5 entries ≥ 0.67·6 = 4.02) with cool-down 0 → restart, cool-down 4;
 * - 2: stale too but cooling down (2) → no restart, cool-down 1.
 */
function threeParticles(): WeightSwarm {
  return {
    base: 'smol',
    models: [2, 5, 7],
    particles: [particle('a', [0.5]), particle('b', [0.9, 0.4, 0.4, 0.4, 0.4]), particle('c', [0.8, 0.3, 0.3, 0.3, 0.3, 0.3], 2)],
    globalBest: key('g'),
    globalBestScore: 0.9,
    globalBestHistory: [0.9],
    globalWorst: key('gw'),
    globalWorstScore: 0.3,
  };
}

/** Four r-factors per particle. */
const DRAWS = [0.5, 0.5, 0.25, 0.5, 0.1, 0.9, 0.3, 0.7, 0.6, 0.2, 0.8, 0.4];

describe('core/weight-swarm', () => {
  describe('weightGroups', () => {
    it('excludes models without an adapter; one group per base in order of first appearance', () => {
      const groups = weightGroups([
        { adapter: adapter('beta') }, // 0
        { adapter: undefined }, // 1: no adapter, never a particle
        { adapter: adapter('alpha') }, // 2
        { adapter: adapter('beta', 'other.gguf') }, // 3
        {}, // 4
        { adapter: adapter('alpha') }, // 5
        { adapter: adapter('gamma') }, // 6
      ]);
      assert.deepEqual(groups, [
        { base: 'beta', models: [0, 3] },
        { base: 'alpha', models: [2, 5] },
        { base: 'gamma', models: [6] },
      ]);
    });

    it('no adapters ⇒ no groups', () => {
      assert.deepEqual(weightGroups([{}, {}]), []);
      assert.deepEqual(weightGroups([]), []);
    });
  });

  describe('velocityPartners', () => {
    it('draws int(|group| − 1) per member and skips the member itself (exact draws)', () => {
      // int → 0, 0, 1: i = 0 ⇒ j = 0 → 1 (model 7); i = 1 ⇒ j = 0 (model 4); i = 2 ⇒ j = 1 (model 7).
      const zeros = new ScriptedRng([], [0, 0, 1]);
      assert.deepEqual(velocityPartners([4, 7, 9], zeros), [7, 4, 7]);
      assert.equal(zeros.intCalls, 3);
      assert.equal(zeros.nextCalls, 0);
      // int → 1, 1, 1: i = 0 ⇒ 1 → 2 (model 9); i = 1 ⇒ 1 → 2 (model 9); i = 2 ⇒ 1 (model 7).
      assert.deepEqual(velocityPartners([4, 7, 9], new ScriptedRng([], [1, 1, 1])), [9, 9, 7]);
    });

    it('passes |group| − 1 as the bound of every draw', () => {
      const bounds: number[] = [];
      const inner = createRng(5);
      velocityPartners([0, 1, 2, 3, 4], { next: () => inner.next(), int: (n) => (bounds.push(n), inner.int(n)) });
      assert.deepEqual(bounds, [4, 4, 4, 4, 4]);
    });

    it('a partner is always another member of the same group', () => {
      const group = [3, 8, 11, 12];
      for (let seed = 0; seed < 50; seed++) {
        const partners = velocityPartners(group, createRng(seed));
        partners.forEach((j, i) => {
          assert.notEqual(j, null);
          assert.ok(group.includes(j!), `partner ${j} not in the group`);
          assert.notEqual(j, group[i], `particle ${group[i]} paired with itself (seed ${seed})`);
        });
      }
    });

    it('a lone model has no partner (v = 0) and draws nothing', () => {
      assert.deepEqual(velocityPartners([6], forbiddenRng), [null]);
      assert.deepEqual(velocityPartners([], forbiddenRng), []);
    });

    it('two models are each other’s partner', () => {
      assert.deepEqual(velocityPartners([1, 4], new ScriptedRng([], [0, 0])), [4, 1]);
    });
  });

  describe('planWeightUpdates', () => {
    it('draws exactly 4 numbers per particle and yields the weights of psoWeights(drawFactors(...))', () => {
      const rng = new ScriptedRng(DRAWS);
      const plans = planWeightUpdates(threeParticles(), SETTINGS, 1, rng);
      assert.equal(rng.nextCalls, 12);
      assert.equal(rng.intCalls, 0);
      const replay = new ScriptedRng(DRAWS);
      plans.forEach((plan, i) => {
        const expected = psoWeights(SETTINGS.coefficients, drawFactors(replay, SETTINGS.coefficients));
        assert.deepEqual(plan.weights, expected, `weights of particle ${i}`);
      });
      // Hand check of particle 0: r = (0.5, 0.5, 0.25, 0.5), φ = (0.2, 0.3, 0.4, 0.1)
      // ⇒ (0.1, 0.15, 0.1, 0.05) / 0.4 = (0.25, 0.375, 0.25, 0.125).
      assertClose(plans[0]!.weights.inertia, 0.25, 'w_v');
      assertClose(plans[0]!.weights.cognitive, 0.375, 'w_p');
      assertClose(plans[0]!.weights.social, 0.25, 'w_g');
      assertClose(plans[0]!.weights.repel, 0.125, 'w_w');
    });

    it('fills model, keys and step length; a restart starts from the personal best key with velocity null', () => {
      const swarm = threeParticles();
      const plans = planWeightUpdates(swarm, SETTINGS, 1, new ScriptedRng(DRAWS));
      const base = { stepLength: 0.5, personalBest: '', globalBest: key('g'), globalWorst: key('gw') };
      const expected: Omit<WeightUpdatePlan, 'weights'>[] = [
        { ...base, model: 2, restart: false, restartCooldown: 0, position: key('x-a'), velocity: key('v-a'), personalBest: key('p-a') },
        { ...base, model: 5, restart: true, restartCooldown: 4, position: key('p-b'), velocity: null, personalBest: key('p-b') },
        { ...base, model: 7, restart: false, restartCooldown: 1, position: key('x-c'), velocity: key('v-c'), personalBest: key('p-c') },
      ];
      assert.deepEqual(
        plans.map(({ weights: _weights, ...rest }) => rest),
        expected,
      );
    });

    it('restart and cool-down are those of planParticleStep / restartDecision (the graph swarm’s rule)', () => {
      const swarm = threeParticles();
      const plans = planWeightUpdates(swarm, SETTINGS, 1, new ScriptedRng(DRAWS));
      const replay = new ScriptedRng(DRAWS);
      swarm.particles.forEach((p, i) => {
        const generic = planParticleStep(p, SETTINGS, replay);
        const decision = restartDecision(p.history, p.personalBestScore, p.restartCooldown, SETTINGS.restartPatience, SETTINGS.patience);
        assert.deepEqual({ restart: plans[i]!.restart, restartCooldown: plans[i]!.restartCooldown, weights: plans[i]!.weights }, generic, `particle ${i}`);
        assert.deepEqual({ restart: plans[i]!.restart, cooldown: plans[i]!.restartCooldown }, decision, `particle ${i}`);
      });
    });

    it('with restarts disabled nobody restarts and cool-downs stay as they are', () => {
      const plans = planWeightUpdates(threeParticles(), { ...SETTINGS, restartEnabled: false }, 1, new ScriptedRng(DRAWS));
      assert.deepEqual(
        plans.map((p) => [p.restart, p.restartCooldown, p.position, p.velocity]),
        [
          [false, 0, key('x-a'), key('v-a')],
          [false, 0, key('x-b'), key('v-b')],
          [false, 2, key('x-c'), key('v-c')],
        ],
      );
    });

    it('applies the step-length decay of the iteration: λ·factor^(t−1), floored', () => {
      const decaying = { ...SETTINGS, stepLengthFactor: 0.5, minimumStepLength: 0.1 };
      // 0.5 · 0.5² = 0.125 at t = 3; 0.5 · 0.5⁴ = 0.03125 < 0.1 at t = 5 ⇒ 0.1
      assert.equal(planWeightUpdates(threeParticles(), decaying, 3, new ScriptedRng(DRAWS))[0]!.stepLength, 0.125);
      assert.equal(planWeightUpdates(threeParticles(), decaying, 5, new ScriptedRng(DRAWS))[2]!.stepLength, 0.1);
    });

    it('does not modify the swarm', () => {
      const swarm = threeParticles();
      const before = structuredClone(swarm);
      planWeightUpdates(swarm, SETTINGS, 1, new ScriptedRng(DRAWS));
      assert.deepEqual(swarm, before);
    });

    it('over many iterations restarts and cool-downs evolve exactly as in the graph swarm on the same stream', () => {
      // Particle 0 keeps improving, particle 1 never beats its initial score: it restarts, cools down, restarts.
      const initialScores = [0.5, 0.9];
      const m = (a: number): Matrix => [
        [0, a],
        [1 - a, 0],
      ];
      let graph: GraphSwarm = createGraphSwarm([m(0.2), m(0.7)], [m(0.1), m(0.3)], initialScores);
      let weights = createWeightSwarm('smol', [0, 1], [key('x0'), key('x1')], [key('v0'), key('v1')], initialScores);
      const graphCooldowns: number[][] = [];
      const weightCooldowns: number[][] = [];
      const weightRestarts: boolean[][] = [];
      for (let t = 1; t <= 12; t++) {
        const scores = [0.5 + 0.01 * t, 0.4];
        graph = recordScores(advanceSwarm(graph, SETTINGS, t, deriveRng(99, 'w', t)), scores).swarm;
        const plans = planWeightUpdates(weights, SETTINGS, t, deriveRng(99, 'w', t));
        const moved = plans.map((p, i) => ({ position: key(`x${i}-${t}`), velocity: key(`v${i}-${t}`) }));
        weights = recordWeightScores(applyWeightUpdates(weights, plans, moved), scores);
        graphCooldowns.push(graph.particles.map((p) => p.restartCooldown));
        weightCooldowns.push(weights.particles.map((p) => p.restartCooldown));
        weightRestarts.push(plans.map((p) => p.restart));
      }
      assert.deepEqual(weightCooldowns, graphCooldowns);
      // Before the plan of iteration t particle 1's history has t entries, its best (0.9) first: stale once
      // t ≥ 0.67·6 = 4.02 with t integer, i.e. at t = 5 ⇒ restart (cool-down ⌊4.02⌋ = 4), then 3, 2, 1, 0 at
      // t = 6..9, and the next restart at t = 10.
      assert.deepEqual(
        weightRestarts.map((r) => r[1]),
        [false, false, false, false, true, false, false, false, false, true, false, false],
      );
      assert.deepEqual(
        weightCooldowns.map((c) => c[1]),
        [0, 0, 0, 0, 4, 3, 2, 1, 0, 4, 3, 2],
      );
      assert.ok(weightRestarts.every((r) => r[0] === false), 'the improving particle never restarts');
    });
  });

  describe('createWeightSwarm', () => {
    it('reads scores by pool index; p = x, g = first argmax, g_w = first argmin', () => {
      // Pool of 5; the swarm holds models 0, 2, 4. Scores of models 1 and 3 (not in the swarm) must be ignored.
      const swarm = createWeightSwarm('smol', [0, 2, 4], [key('x0'), key('x2'), key('x4')], [key('v0'), key('v2'), key('v4')], [0.1, 99, 0.7, -99, 0.7]);
      assert.equal(swarm.base, 'smol');
      assert.deepEqual(swarm.models, [0, 2, 4]);
      assert.equal(swarm.globalBest, key('x2'), 'first of the equal maxima (models 2 and 4)');
      assert.equal(swarm.globalBestScore, 0.7);
      assert.deepEqual(swarm.globalBestHistory, [0.7]);
      assert.equal(swarm.globalWorst, key('x0'));
      assert.equal(swarm.globalWorstScore, 0.1);
      assert.deepEqual(
        swarm.particles,
        [
          ['x0', 'v0', 0.1],
          ['x2', 'v2', 0.7],
          ['x4', 'v4', 0.7],
        ].map(([x, v, s]) => ({
          position: key(x as string),
          velocity: key(v as string),
          personalBest: key(x as string),
          personalBestScore: s,
          history: [s],
          restartCooldown: 0,
        })),
      );
    });

    it('first argmin among equal minima', () => {
      const swarm = createWeightSwarm('b', [1, 0], [key('x1'), key('x0')], [key('v1'), key('v0')], [0.2, 0.2]);
      assert.equal(swarm.globalBest, key('x1'));
      assert.equal(swarm.globalWorst, key('x1'));
    });

    it('rejects mismatched lengths', () => {
      assert.throws(() => createWeightSwarm('b', [0, 1], [key('x0')], [key('v0'), key('v1')], [0.1, 0.2]), RangeError);
    });
  });

  describe('applyWeightUpdates + recordWeightScores', () => {
    const initial = (): WeightSwarm =>
      // Models 1 and 3 of a pool of 4: p_1 = x1 (0.5), p_3 = x3 (0.3); g = x1 (0.5), g_w = x3 (0.3).
      createWeightSwarm('smol', [1, 3], [key('x1'), key('x3')], [key('v1'), key('v3')], [0, 0.5, 0, 0.3]);

    function step(swarm: WeightSwarm, tag: string, scores: number[], cooldowns = [0, 0]): WeightSwarm {
      const plans = planWeightUpdates(swarm, SETTINGS, 1, new ScriptedRng(DRAWS.slice(0, 8))).map((p, i) => ({ ...p, restartCooldown: cooldowns[i]! }));
      const moved = swarm.models.map((m) => ({ position: key(`x${m}${tag}`), velocity: key(`v${m}${tag}`) }));
      return recordWeightScores(applyWeightUpdates(swarm, plans, moved), scores);
    }

    it('applyWeightUpdates sets x, v and the plans’ cool-downs only', () => {
      const swarm = initial();
      const before = structuredClone(swarm);
      const plans = planWeightUpdates(swarm, SETTINGS, 1, new ScriptedRng(DRAWS.slice(0, 8))).map((p, i) => ({ ...p, restartCooldown: 3 + i }));
      const next = applyWeightUpdates(swarm, plans, [
        { position: key('x1b'), velocity: key('v1b') },
        { position: key('x3b'), velocity: key('v3b') },
      ]);
      assert.deepEqual(swarm, before, 'input untouched');
      assert.deepEqual(next, {
        ...before,
        particles: [
          { ...before.particles[0]!, position: key('x1b'), velocity: key('v1b'), restartCooldown: 3 },
          { ...before.particles[1]!, position: key('x3b'), velocity: key('v3b'), restartCooldown: 4 },
        ],
      });
      assert.notEqual(next.particles[0]!.history, swarm.particles[0]!.history, 'history is a copy');
    });

    it('applyWeightUpdates rejects a number of plans or results different from the particles', () => {
      const swarm = initial();
      const plans = planWeightUpdates(swarm, SETTINGS, 1, new ScriptedRng(DRAWS.slice(0, 8)));
      const one = [{ position: key('a'), velocity: key('b') }];
      assert.throws(() => applyWeightUpdates(swarm, plans, one), RangeError);
      assert.throws(() => applyWeightUpdates(swarm, plans.slice(0, 1), [...one, ...one]), RangeError);
    });

    it('ties change nothing: p only on strictly better, g on strictly better, g_w on strictly worse', () => {
      // Iteration 1: model 1 scores 0.5 (= its best, = g) ⇒ p_1, g stay; model 3 scores 0.4 > 0.3 ⇒ p_3 = x3b;
      // the iteration's worst 0.4 is not < 0.3 ⇒ g_w stays x3.
      const s1 = step(initial(), 'b', [0, 0.5, 0, 0.4]);
      assert.deepEqual(
        s1.particles.map((p) => [p.position, p.personalBest, p.personalBestScore, p.history]),
        [
          [key('x1b'), key('x1'), 0.5, [0.5, 0.5]],
          [key('x3b'), key('x3b'), 0.4, [0.3, 0.4]],
        ],
      );
      assert.equal(s1.globalBest, key('x1'));
      assert.equal(s1.globalBestScore, 0.5);
      assert.equal(s1.globalWorst, key('x3'));
      assert.equal(s1.globalWorstScore, 0.3);
      assert.deepEqual(s1.globalBestHistory, [0.5, 0.5]);
      assert.equal(s1.base, 'smol');
      assert.deepEqual(s1.models, [1, 3]);

      // Iteration 2: model 1 scores 0.6 ⇒ p_1 = x1c, g = x1c; model 3 scores 0.2 ⇒ p_3 stays x3b, g_w = x3c.
      const s2 = step(s1, 'c', [0, 0.6, 0, 0.2]);
      assert.deepEqual(
        s2.particles.map((p) => [p.personalBest, p.personalBestScore, p.history]),
        [
          [key('x1c'), 0.6, [0.5, 0.5, 0.6]],
          [key('x3b'), 0.4, [0.3, 0.4, 0.2]],
        ],
      );
      assert.equal(s2.globalBest, key('x1c'));
      assert.equal(s2.globalBestScore, 0.6);
      assert.equal(s2.globalWorst, key('x3c'));
      assert.equal(s2.globalWorstScore, 0.2);
      assert.deepEqual(s2.globalBestHistory, [0.5, 0.5, 0.6]);
    });

    it('reads scores by pool index, not by particle index', () => {
      // If particle k used scores[k], model 1 would get 0.9 and model 3 would get 0.1.
      const next = step(initial(), 'b', [0.9, 0.1, 0.95, 0.8]);
      assert.deepEqual(
        next.particles.map((p) => p.history),
        [
          [0.5, 0.1],
          [0.3, 0.8],
        ],
      );
      assert.equal(next.globalBest, key('x3b'));
      assert.equal(next.globalBestScore, 0.8);
      assert.equal(next.globalWorst, key('x1b'));
      assert.equal(next.globalWorstScore, 0.1);
    });

    it('the new g is the first of the iteration’s equal maxima; the new g_w the first of equal minima', () => {
      const best = step(initial(), 'b', [0, 0.7, 0, 0.7]);
      assert.equal(best.globalBest, key('x1b'));
      const worst = step(initial(), 'b', [0, 0.1, 0, 0.1]);
      assert.equal(worst.globalWorst, key('x1b'));
    });

    it('keeps the cool-downs of the plans through recordWeightScores', () => {
      assert.deepEqual(
        step(initial(), 'b', [0, 0.5, 0, 0.4], [2, 4]).particles.map((p) => p.restartCooldown),
        [2, 4],
      );
    });

    it('recordWeightScores rejects a score list that does not cover the swarm’s models', () => {
      // Model 3 has no score (scores[3] is undefined). Recording it anyway would put `undefined` into the
      // particle's history, which fails the WeightSwarm state schema much later, far from the cause.
      assert.throws(() => recordWeightScores(initial(), [0, 0.5]), RangeError);
    });

    it('createWeightSwarm rejects a score list that does not cover the swarm’s models', () => {
      assert.throws(() => createWeightSwarm('smol', [1, 3], [key('x1'), key('x3')], [key('v1'), key('v3')], [0, 0.5]), RangeError);
    });
  });

  describe('modelsAt', () => {
    const pool = [
      { id: 'a', model: 'expert-a', adapterSha256: 'a'.repeat(64) },
      { id: 'b', model: 'expert-b' },
      { id: 'c', model: 'expert-c', adapterSha256: 'c'.repeat(64) },
    ];

    it('overrides model name and adapterSha256 only where a version exists', () => {
      const at = modelsAt(pool, [null, { served: 'b@0123456789ab', sha256: 'd'.repeat(64) }, { served: 'c@fedcba987654', sha256: 'e'.repeat(64) }]);
      assert.deepEqual(at, [
        { id: 'a', model: 'expert-a', adapterSha256: 'a'.repeat(64) },
        { id: 'b', model: 'b@0123456789ab', adapterSha256: 'd'.repeat(64) },
        { id: 'c', model: 'c@fedcba987654', adapterSha256: 'e'.repeat(64) },
      ]);
      assert.deepEqual(pool[1], { id: 'b', model: 'expert-b' }, 'input untouched');
    });

    it('absent versions (short array, undefined) leave models as configured', () => {
      assert.deepEqual(modelsAt(pool, undefined), pool);
      assert.deepEqual(modelsAt(pool, [{ served: 'a@111111111111', sha256: 'f'.repeat(64) }]), [
        { id: 'a', model: 'a@111111111111', adapterSha256: 'f'.repeat(64) },
        pool[1],
        pool[2],
      ]);
    });
  });
});
