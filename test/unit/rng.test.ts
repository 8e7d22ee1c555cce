import assert from 'node:assert/strict';
import { createRng, deriveRng, type Rng } from '../../workflows/core/rng';

const take = (rng: Rng, n: number): number[] => Array.from({ length: n }, () => rng.next());

describe('core/rng', () => {
  it('is deterministic: the same seed gives the same stream', () => {
    assert.deepEqual(take(createRng(42), 200), take(createRng(42), 200));
    assert.deepEqual(take(deriveRng(42, 'role', 3), 50), take(deriveRng(42, 'role', 3), 50));
  });

  it('different seeds give different streams', () => {
    const a = take(createRng(1), 20);
    const b = take(createRng(2), 20);
    assert.notDeepEqual(a, b);
    // Not just shifted: no value of one appears in the first 20 of the other.
    assert.equal(a.filter((x) => b.includes(x)).length, 0);
  });

  it('next() is in [0, 1)', () => {
    const rng = createRng(7);
    for (let i = 0; i < 10_000; i++) {
      const x = rng.next();
      assert.ok(x >= 0 && x < 1, `draw ${i} = ${x}`);
    }
  });

  it('is roughly uniform: mean of 10k draws within 0.02 of 0.5, deciles within 15% of 1000', () => {
    const rng = createRng(12345);
    const draws = take(rng, 10_000);
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    const buckets = new Array<number>(10).fill(0);
    for (const x of draws) buckets[Math.floor(x * 10)]!++;
    for (const [i, count] of buckets.entries()) assert.ok(count > 850 && count < 1150, `decile ${i}: ${count}`);
  });

  describe('deriveRng', () => {
    it('depends on every label, their order and the seed', () => {
      const first = (rng: Rng): number[] => take(rng, 8);
      const streams = [
        first(deriveRng(42)),
        first(deriveRng(42, 'init')),
        first(deriveRng(42, 'role')),
        first(deriveRng(42, 'role', 1)),
        first(deriveRng(42, 'role', 2)),
        first(deriveRng(43, 'role', 1)),
        first(deriveRng(42, 'decode', 1, 0)),
        first(deriveRng(42, 'decode', 0, 1)),
        first(deriveRng(42, 'decode', 1, 1)),
      ].map((s) => JSON.stringify(s));
      assert.equal(new Set(streams).size, streams.length, 'all derived streams are distinct');
    });

    it('a derived stream does not depend on what was drawn elsewhere', () => {
      const fresh = take(deriveRng(9, 'role', 4), 10);
      const other = deriveRng(9, 'role', 3);
      take(other, 1000);
      const afterOtherUse = take(deriveRng(9, 'role', 4), 10);
      assert.deepEqual(afterOtherUse, fresh);
    });

    it('is not the raw createRng of the seed', () => {
      assert.notDeepEqual(take(deriveRng(42), 5), take(createRng(42), 5));
    });
  });

  describe('int', () => {
    it('stays in [0, n) and hits every value', () => {
      const rng = createRng(3);
      for (const n of [1, 2, 3, 7, 10]) {
        const seen = new Set<number>();
        for (let i = 0; i < 2000; i++) {
          const k = rng.int(n);
          assert.ok(Number.isInteger(k) && k >= 0 && k < n, `int(${n}) = ${k}`);
          seen.add(k);
        }
        assert.equal(seen.size, n, `int(${n}) covers 0..${n - 1}`);
      }
    });

    it('int(1) is always 0 and large n stays in range', () => {
      const rng = createRng(5);
      for (let i = 0; i < 100; i++) assert.equal(rng.int(1), 0);
      for (let i = 0; i < 1000; i++) {
        const k = rng.int(2 ** 31);
        assert.ok(k >= 0 && k < 2 ** 31);
      }
    });

    it('rejects a non-positive or non-integer bound', () => {
      const rng = createRng(5);
      for (const n of [0, -1, 1.5, Number.NaN, Infinity]) {
        assert.throws(() => rng.int(n), RangeError, `int(${n})`);
      }
    });

    it('is the floor of next() scaled to n (same stream position)', () => {
      const a = createRng(77);
      const b = createRng(77);
      for (let i = 0; i < 100; i++) assert.equal(a.int(10), Math.floor(b.next() * 10));
    });
  });
});
