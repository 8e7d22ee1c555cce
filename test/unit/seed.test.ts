import assert from 'node:assert/strict';
import { injectAdapterSeeds, injectSeeds, parseSeed, SeedRequestSchema, weakestParticle, type SeedTarget } from '../../workflows/core/seed';
import type { ModelVersion, WeightState } from '../../workflows/core/state';
import type { GraphSwarm } from '../../workflows/core/swarm';
import { seedRequestOf } from '../../scripts/commands/control';

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
const graphTarget = (): SeedTarget => ({ models: [{ id: 'a' }, { id: 'b' }], swarm: swarm() });

const key = (c: string): string => `sha256:${c.repeat(64)}`;
const version = (c: string, iteration = 1): ModelVersion => ({ served: `m@${c.repeat(12)}`, sha256: c.repeat(64), key: key(c), iteration });
const adapter = { path: 'x.gguf', format: 'gguf' as const, base: 'base', hotLoad: 'load_lora_adapter' as const };
const modelParticle = (position: string, p: string) => ({ position, velocity: key('9'), personalBest: p, personalBestScore: 0.5, history: [0.25, 0.5], restartCooldown: 1 });
/** Pool a (adapter), b (no adapter), c (adapter), all of base "base": one weight swarm [a, c]. */
const weights = (): WeightState => ({
  swarms: [{ base: 'base', models: [0, 2], particles: [modelParticle(key('1'), key('5')), modelParticle(key('3'), key('6'))], globalBest: key('5'), globalBestScore: 0.5, globalBestHistory: [0.5], globalWorst: key('6'), globalWorstScore: 0.25 }],
  versions: [version('1'), null, version('3')],
  jfk: [0.5, 0.4, 0.25],
});
const poolTarget = (w: WeightState | undefined = weights()): SeedTarget => ({ models: [{ id: 'a', adapter }, { id: 'b' }, { id: 'c', adapter }], swarm: swarm(), weights: w });

const problems = (input: unknown, target: SeedTarget = graphTarget()): string => {
  const o = parseSeed(input, target);
  return o.ok ? assert.fail(`expected a rejection of ${JSON.stringify(input)}`) : o.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
};

describe('seed: a known graph as a particle', () => {
  it('replaces the particle with the lowest latest utility (first of equal minima) by default', () => {
    assert.equal(weakestParticle(swarm()), 1);
    const outcome = parseSeed({ edges: [['b', 'a']] }, graphTarget());
    assert.deepEqual(outcome, { ok: true, seed: { kind: 'graph', matrix: [[0, 0], [1, 0]], particle: 1 } });
  });

  it('injects x ← seed and v ← 0, keeping the personal best and history', () => {
    const s = swarm();
    const seeded = injectSeeds(s, [{ matrix: [[0, 0.3], [0.7, 0]], particle: 2 }]);
    assert.deepEqual(seeded.particles[2], { ...s.particles[2], position: [[0, 0.3], [0.7, 0]], velocity: [[0, 0], [0, 0]] });
    assert.deepEqual(seeded.particles.slice(0, 2), s.particles.slice(0, 2));
    assert.notEqual(seeded.particles, s.particles, 'the input swarm is not mutated');
  });

  it('rejects a wrong size, a self-loop, unknown models, a bad particle, out-of-range weights', () => {
    assert.match(problems({ matrix: [[0, 1, 0]] }), /matrix: must be 2×2/);
    assert.match(problems({ matrix: [[1, 0], [0, 0]] }), /diagonal must be 0/);
    assert.match(problems({ matrix: [[0, 2], [0, 0]] }), /^matrix\.0\.1: /);
    assert.match(problems({ edges: [['a', 'z']] }), /edges\.0: unknown model id "z"/);
    assert.match(problems({ edges: [['a', 'a']] }), /no self-loops/);
    assert.match(problems({ edges: [['a', 'b']], particle: 3 }), /particle: there are 3 graph particles/);
    assert.match(problems({}), /^\(root\): give exactly one of "matrix" or "edges" \(a graph\) or "adapter" \(with "model"\)$/);
  });
});

describe('seed: an adapter as a model particle', () => {
  it('accepts { model, adapter, adapterSha256? } for a model particle, by pool index', () => {
    assert.deepEqual(parseSeed({ model: 'c', adapter: 'seeds/c.gguf' }, poolTarget()), { ok: true, seed: { kind: 'adapter', model: 2, path: 'seeds/c.gguf' } });
    const sha = 'ab'.repeat(32);
    assert.deepEqual(parseSeed({ model: 'a', adapter: '/abs/a.gguf', adapterSha256: sha }, poolTarget()), { ok: true, seed: { kind: 'adapter', model: 0, path: '/abs/a.gguf', sha256: sha } });
  });

  it('the request shape: exactly one of matrix / edges / adapter; model with adapter only; particle with graphs only', () => {
    assert.match(problems({ model: 'a', adapter: 'x', edges: [] }, poolTarget()), /^\(root\): give exactly one of/);
    assert.match(problems({ adapter: 'x' }, poolTarget()), /^model: an "adapter" seed needs "model"/);
    assert.match(problems({ model: 'a', edges: [['a', 'c']] }, poolTarget()), /^model: "model" goes only with "adapter"$/);
    assert.match(problems({ edges: [['a', 'c']], adapterSha256: 'f'.repeat(64) }, poolTarget()), /^adapterSha256: "adapterSha256" goes only with "adapter"$/);
    assert.match(problems({ model: 'a', adapter: 'x', particle: 0 }, poolTarget()), /^particle: "particle" is for graph seeds/);
    assert.match(problems({ model: 'a', adapter: 'x', adapterSha256: 'ABC' }, poolTarget()), /^adapterSha256: must be a lowercase hex sha256/);
    assert.match(problems({ model: 'a', adapter: '' }, poolTarget()), /^adapter: /);
    assert.match(problems({ model: 'a', adapter: 'x', extra: 1 }, poolTarget()), /extra/);
    assert.equal(SeedRequestSchema.safeParse({ model: 'a', adapter: 'x' }).success, true);
  });

  it('rejects an unknown id (listing the ids), a model without adapter, a study without weight step', () => {
    assert.equal(problems({ model: 'z', adapter: 'x' }, poolTarget()), 'model: unknown model id "z" (models: a, b, c)');
    assert.equal(problems({ model: 'b', adapter: 'x' }, poolTarget()), 'model: model "b" has no adapter in the config, so it is no model particle (models with one: a, c)');
    assert.match(problems({ model: 'a', adapter: 'x' }, { ...poolTarget(), weights: undefined }), /^model: the study has no weight step/);
    const noParticle = weights();
    noParticle.swarms[0]!.models = [0];
    noParticle.swarms[0]!.particles = noParticle.swarms[0]!.particles.slice(0, 1);
    assert.equal(problems({ model: 'c', adapter: 'x' }, poolTarget(noParticle)), 'model: model "c" is not a particle of any weight swarm');
  });

  it('injects x ← the version, v ← the zero velocity and the version as current; p, history, g and g_w stay', () => {
    const w = weights();
    const seeded = { ...version('7'), seeded: true as const };
    const { weights: after, retired } = injectAdapterSeeds(w, [{ model: 2, version: seeded, velocity: key('0') }]);
    assert.deepEqual(after.versions, [version('1'), null, seeded]);
    const [swarmAfter] = after.swarms;
    assert.deepEqual(swarmAfter!.particles[1], { ...w.swarms[0]!.particles[1], position: key('7'), velocity: key('0') });
    assert.deepEqual(swarmAfter!.particles[0], w.swarms[0]!.particles[0], 'the other particle is untouched');
    assert.deepEqual({ ...swarmAfter, particles: null }, { ...w.swarms[0], particles: null }, 'g and g_w stay');
    assert.deepEqual(after.jfk, w.jfk);
    assert.deepEqual(retired, [{ model: 2, served: version('3').served }], 'the replaced version is retired');
    assert.deepEqual(w, weights(), 'the input is not mutated');
  });

  it('retires superseded seeds of the same model, never the version that ends current', () => {
    const s = (c: string) => ({ model: 0, version: { ...version(c), seeded: true as const }, velocity: key('0') });
    const { weights: after, retired } = injectAdapterSeeds(weights(), [s('7'), s('8'), s('7')]);
    assert.equal(after.versions[0]?.served, version('7').served);
    assert.deepEqual(retired, [{ model: 0, served: version('1').served }, { model: 0, served: version('8').served }]);
    assert.deepEqual(injectAdapterSeeds(weights(), [s('1')]).retired, [], 're-seeding the current file retires nothing');
    assert.throws(() => injectAdapterSeeds(weights(), [{ ...s('7'), model: 1 }]), /model #1 is not a particle/);
  });
});

describe('seed: the CLI request', () => {
  it('builds graph and adapter requests; a relative adapter path becomes absolute from the cwd', () => {
    assert.deepEqual(seedRequestOf({ edges: 'a>b,b>c', particle: '2' }), { edges: [['a', 'b'], ['b', 'c']], particle: 2 });
    assert.deepEqual(seedRequestOf({ model: 'a', adapter: 'seeds/a.gguf' }, '/home/me'), { model: 'a', adapter: '/home/me/seeds/a.gguf' });
    assert.deepEqual(seedRequestOf({ model: 'a', adapter: '/abs/a', 'adapter-sha256': 'f'.repeat(64) }, '/x'), { model: 'a', adapter: '/abs/a', adapterSha256: 'f'.repeat(64) });
  });

  it('refuses mixed or incomplete options (usage)', () => {
    for (const values of [{}, { model: 'a' }, { adapter: 'a.gguf' }, { edges: 'a>b', model: 'a', adapter: 'x' }, { model: 'a', adapter: 'x', particle: '1' }, { edges: 'a>b', 'adapter-sha256': 'f' }, { edges: 'a' }]) {
      assert.equal(seedRequestOf(values), undefined, JSON.stringify(values));
    }
  });
});
