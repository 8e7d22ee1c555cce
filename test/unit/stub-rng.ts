/** Scripted random streams for unit tests (not a spec file: mocha only loads `*.test.ts`). */
import type { Rng } from '../../workflows/core/rng';

/** An Rng that returns the given values in order and counts the draws; throws when the script runs out. */
export class ScriptedRng implements Rng {
  nextCalls = 0;
  intCalls = 0;
  constructor(
    private readonly nexts: readonly number[],
    private readonly ints: readonly number[] = [],
  ) {}

  next(): number {
    const v = this.nexts[this.nextCalls];
    if (v === undefined) throw new Error(`ScriptedRng: next() called ${this.nextCalls + 1} times, only ${this.nexts.length} scripted`);
    this.nextCalls++;
    return v;
  }

  int(n: number): number {
    const v = this.ints[this.intCalls];
    if (v === undefined) throw new Error(`ScriptedRng: int() called ${this.intCalls + 1} times, only ${this.ints.length} scripted`);
    if (v < 0 || v >= n) throw new Error(`ScriptedRng: scripted int ${v} is outside [0, ${n})`);
    this.intCalls++;
    return v;
  }

  get draws(): number {
    return this.nextCalls + this.intCalls;
  }
}

/** An Rng that must never be used. */
export const forbiddenRng: Rng = {
  next: () => {
    throw new Error('randomness consumed where none was expected');
  },
  int: () => {
    throw new Error('randomness consumed where none was expected');
  },
};

export function assertClose(actual: number, expected: number, message?: string, tolerance = 1e-12): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${message ?? 'value'}: expected ${expected}, got ${actual} (tolerance ${tolerance})`);
  }
}

export function assertAllClose(actual: readonly number[], expected: readonly number[], message?: string, tolerance = 1e-12): void {
  if (actual.length !== expected.length) throw new Error(`${message ?? 'vector'}: length ${actual.length}, expected ${expected.length}`);
  actual.forEach((a, i) => assertClose(a, expected[i]!, `${message ?? 'vector'}[${i}]`, tolerance));
}
