import assert from 'node:assert/strict';
import { injectSeeds, parseSeed, weakestParticle } from '../../workflows/core/seed';
import type { GraphSwarm } from '../../workflows/core/swarm';

const zero = (): number[][] => [[0, 0], [0, 0]];
const particle = (history: number[]) => ({ position: [[0, 0.5], [0.5, 0]], velocity: [[0, 0.1], [0.1, 0]], personalBest: zero(), personalBestScore: Math.max(...history), history, restartCooldown: 0 });
const swarm = (): GraphSwarm => ({
  particles: [particle([0.5, 0.75]), particle([0.5, 0.25]), particle([0.9, 0.25])],
  globalBest: zero(),
  globalBestScore: 0.9,
  globalBestHistory: [0.9],
  globalWorst: zero(),
  globalWorstScore: 0.25,
});

describe('seed: a known graph as a particle', () => {
  it('replaces the particle with the lowest latest utility (first of equal minima) by default', () => {
    assert.equal(weakestParticle(swarm()), 1);
    const outcome = parseSeed({ edges: [['b', 'a']] }, ['a', 'b'], swarm());
    assert.deepEqual(outcome, { ok: true, seed: { matrix: [[0, 0], [1, 0]], particle: 1 } });
  });

  it('injects x ← seed and v ← 0, keeping the personal best and history', () => {
    const s = swarm();
    const seeded = injectSeeds(s, [{ matrix: [[0, 0.3], [0.7, 0]], particle: 2 }]);
    assert.deepEqual(seeded.particles[2], { ...s.particles[2], position: [[0, 0.3], [0.7, 0]], velocity: [[0, 0], [0, 0]] });
    assert.deepEqual(seeded.particles.slice(0, 2), s.particles.slice(0, 2));
    assert.notEqual(seeded.particles, s.particles, 'the input swarm is not mutated');
  });

  it('rejects a wrong size, a self-loop, unknown models, a bad particle, out-of-range weights', () => {
    const problems = (input: unknown): string => {
      const o = parseSeed(input, ['a', 'b'], swarm());
      return o.ok ? assert.fail('expected a rejection') : o.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    };
    assert.match(problems({ matrix: [[0, 1, 0]] }), /matrix: must be 2×2/);
    assert.match(problems({ matrix: [[1, 0], [0, 0]] }), /diagonal must be 0/);
    assert.match(problems({ matrix: [[0, 2], [0, 0]] }), /^matrix\.0\.1: /);
    assert.match(problems({ edges: [['a', 'z']] }), /edges\.0: unknown model id "z"/);
    assert.match(problems({ edges: [['a', 'a']] }), /no self-loops/);
    assert.match(problems({ edges: [['a', 'b']], particle: 3 }), /particle: there are 3 graph particles/);
    assert.match(problems({}), /exactly one of "matrix" or "edges"/);
  });
});
