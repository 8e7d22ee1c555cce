import assert from 'node:assert/strict';
import path from 'node:path';
import { createPsoKernel, type PsoKernel, type PsoKernelBuffers } from '../../adapters/pso-kernel';
import { ggufFormat } from '../../adapters/gguf-tensors';
import { safetensorsFormat } from '../../adapters/safetensors';
import type { TensorDType, TensorFileFormat, TensorLayout } from '../../adapters/tensor-file';
import { decodeBF16, decodeF16, encodeBF16, encodeF16 } from '../../adapters/dtype';
import { psoStepInto, psoWeights, type PsoWeights } from '../../workflows/core/pso';
import { createRng, type Rng } from '../../workflows/core/rng';
import { tmpDirs } from '../activities/tmp-dir';

const OPERANDS = ['position', 'velocity', 'personalBest', 'globalBest', 'globalWorst'] as const;

/** Values of mixed magnitudes and signs, so that float32 rounding actually happens. */
function fillRandom(a: Float32Array, rng: Rng): void {
  const scales = [1e-6, 0.03, 1, 3, 1e4];
  for (let i = 0; i < a.length; i++) a[i] = (rng.next() - 0.5) * scales[rng.int(scales.length)]!;
}

/** Signed zeros, float32 subnormals, the extremes of the finite range, and ordinary values. */
const SPECIALS = [0, -0, 1e-45, -1e-45, 1.1754942e-38, -5.9e-39, 1e-40, 3.4028235e38, -3.4028235e38, 1e30, -2.5e37, 1, -1, 0.1, 65504];

/** Special values drawn at random positions: a mix of them in every operand and at every lane. */
function fillSpecial(a: Float32Array, rng: Rng): void {
  for (let i = 0; i < a.length; i++) a[i] = SPECIALS[rng.int(SPECIALS.length)]!;
}

/** psoStepInto on the kernel's operand buffers, into fresh arrays: the reference. */
function reference(b: PsoKernelBuffers, weights: PsoWeights, stepLength: number): { position: Float32Array; velocity: Float32Array } {
  const position = new Float32Array(b.position.length);
  const velocity = new Float32Array(b.position.length);
  psoStepInto(b, weights, stepLength, position, velocity);
  return { position, velocity };
}

/** Bit-for-bit equality (two NaNs count as equal: neither side promises a NaN payload). */
function assertSameBits(actual: Float32Array, expected: Float32Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      assert.fail(`${label}[${i}]: got ${actual[i]} (0x${a[i]!.toString(16)}), expected ${expected[i]} (0x${e[i]!.toString(16)})`);
    }
  }
}

/** A non-dyadic set (psoWeights of the paper's grid), one without the repel term, and unnormalised extremes. */
const WEIGHT_SETS: readonly [PsoWeights, number][] = [
  [psoWeights({ inertia: 0.2, cognitive: 0.3, social: 0.4, repel: 0.05, repelEnabled: true, weightRandomness: true }, { rV: 0.3, rP: 0.8, rG: 0.55, rW: 0.9 }), 0.7],
  [psoWeights({ inertia: 0.2, cognitive: 0.3, social: 0.4, repel: 0.05, repelEnabled: false, weightRandomness: true }, { rV: 0.91, rP: 0.13, rG: 0.37, rW: 0.5 }), 1],
  [{ inertia: 0.25, cognitive: 0.375, social: 0.25, repel: 0.125 }, 0.5],
  [{ inertia: 1e-300, cognitive: 7.3, social: -0.1, repel: 1e10 }, 1e-3],
];

const LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 1023, 100003];

/** Fills the five operands of a kernel for `n` elements and checks the step against psoStepInto. */
function checkStep(kernel: PsoKernel, n: number, fill: (a: Float32Array, rng: Rng) => void, seed: number, weights: PsoWeights, stepLength: number): void {
  const rng = createRng(seed);
  const b = kernel.buffers(n);
  for (const name of OPERANDS) fill(b[name], rng);
  b.outPosition.fill(Number.NaN);
  b.outVelocity.fill(Number.NaN);
  const expected = reference(b, weights, stepLength);
  kernel.step(n, weights, stepLength);
  assertSameBits(b.outPosition, expected.position, `${kernel.implementation} n=${n} x'`);
  assertSameBits(b.outVelocity, expected.velocity, `${kernel.implementation} n=${n} v'`);
}

describe('adapters/pso-kernel', () => {
  it('runs WebAssembly SIMD on this Node (the fallback only on demand)', () => {
    assert.equal(createPsoKernel(8).implementation, 'wasm-simd');
    assert.equal(createPsoKernel(8, { implementation: 'js' }).implementation, 'js');
  });

  for (const implementation of ['wasm-simd', 'js'] as const) {
    describe(`${implementation} kernel`, () => {
      it('is bit-identical to psoStepInto on random data, for every length class and several weights', () => {
        const kernel = createPsoKernel(100003, { implementation });
        WEIGHT_SETS.forEach(([weights, stepLength], w) => {
          for (const n of LENGTHS) checkStep(kernel, n, fillRandom, 1000 * w + n, weights, stepLength);
        });
      });

      it('is bit-identical on signed zeros, subnormals and values near the float32 limits (overflow to ±Infinity included)', () => {
        const kernel = createPsoKernel(1023, { implementation });
        WEIGHT_SETS.forEach(([weights, stepLength], w) => {
          for (const n of [1, 2, 3, 5, 1023]) checkStep(kernel, n, fillSpecial, 77 + 1000 * w + n, weights, stepLength);
        });
      });

      it('keeps the sign of zero exactly as psoStepInto does (−0 results included)', () => {
        const kernel = createPsoKernel(256, { implementation });
        const zeros = (a: Float32Array, rng: Rng): void => {
          for (let i = 0; i < a.length; i++) a[i] = rng.next() < 0.5 ? 0 : -0;
        };
        const weights = { inertia: 0.5, cognitive: -0.25, social: -0.5, repel: -0.25 }; // signs that let −0 reach x'
        checkStep(kernel, 256, zeros, 8, weights, 0.7);
        const b = kernel.buffers(256);
        assert.ok(b.outVelocity.some((x) => Object.is(x, -0)) && b.outVelocity.some((x) => Object.is(x, 0)), 'test data yields both zeros in v′');
        assert.ok(b.outPosition.some((x) => Object.is(x, -0)) && b.outPosition.some((x) => Object.is(x, 0)), "test data yields both zeros in x'");
      });

      it('is bit-identical with infinities and NaNs in the inputs (NaN stays NaN)', () => {
        const kernel = createPsoKernel(64, { implementation });
        const special = (a: Float32Array, rng: Rng): void => {
          const pool = [...SPECIALS, Infinity, -Infinity, Number.NaN];
          for (let i = 0; i < a.length; i++) a[i] = pool[rng.int(pool.length)]!;
        };
        for (const n of [7, 64]) checkStep(kernel, n, special, 5 + n, WEIGHT_SETS[0]![0], WEIGHT_SETS[0]![1]);
      });

      it('writes the first n outputs only and reads the first n operands only', () => {
        const kernel = createPsoKernel(64, { implementation });
        const all = kernel.buffers(64);
        all.outPosition.fill(42);
        all.outVelocity.fill(43);
        const rng = createRng(3);
        for (const name of OPERANDS) fillRandom(all[name], rng);
        all.position.fill(Number.NaN, 13); // poison beyond n
        kernel.step(13, WEIGHT_SETS[0]![0], 0.7);
        assert.ok(all.outPosition.subarray(0, 13).every((x) => Number.isFinite(x) && x !== 42));
        assert.ok(all.outPosition.subarray(13).every((x) => x === 42));
        assert.ok(all.outVelocity.subarray(13).every((x) => x === 43));
      });

      it('grows its buffers when a larger tensor comes, and refuses a step beyond them', () => {
        const kernel = createPsoKernel(10, { implementation });
        assert.ok(kernel.capacity >= 10);
        assert.throws(() => kernel.step(kernel.capacity + 1, WEIGHT_SETS[0]![0], 0.7), RangeError);
        checkStep(kernel, 5, fillRandom, 1, WEIGHT_SETS[0]![0], 0.7);
        checkStep(kernel, 100003, fillRandom, 2, WEIGHT_SETS[0]![0], 0.7);
        assert.ok(kernel.capacity >= 100003);
        assert.equal(kernel.buffers(100003).globalWorst.length, 100003);
        checkStep(kernel, 7, fillRandom, 3, WEIGHT_SETS[1]![0], 1); // smaller again: no shrink needed
        checkStep(kernel, 262147, fillRandom, 4, WEIGHT_SETS[2]![0], 0.5);
        assert.throws(() => kernel.buffers(-1), RangeError);
        assert.throws(() => kernel.buffers(1.5), RangeError);
        assert.throws(() => createPsoKernel(Number.NaN, { implementation }), RangeError);
      });

      it('the seven buffers are distinct memory', () => {
        const b = createPsoKernel(100, { implementation }).buffers(100);
        const all = [b.position, b.velocity, b.personalBest, b.globalBest, b.globalWorst, b.outPosition, b.outVelocity];
        all.forEach((a, k) => a.fill(k + 1));
        all.forEach((a, k) => assert.ok(a.every((x) => x === k + 1), `buffer ${k}`));
      });
    });
  }

  it('the wasm kernel and the fallback agree on the same inputs', () => {
    const wasm = createPsoKernel(4099);
    const js = createPsoKernel(4099, { implementation: 'js' });
    const a = wasm.buffers(4099);
    const b = js.buffers(4099);
    const rng = createRng(11);
    for (const name of OPERANDS) {
      fillRandom(a[name], rng);
      b[name].set(a[name]);
    }
    const [weights, stepLength] = WEIGHT_SETS[0]!;
    wasm.step(4099, weights, stepLength);
    js.step(4099, weights, stepLength);
    assertSameBits(a.outPosition, b.outPosition, "x'");
    assertSameBits(a.outVelocity, b.outVelocity, "v'");
  });

  describe('tensor files read into and written from kernel memory', () => {
    const dirs = tmpDirs('pso-kernel');
    after(() => dirs.cleanup());

    const stored = (values: Float32Array, dtype: TensorDType): Float32Array =>
      dtype === 'F16' ? decodeF16(encodeF16(values)) : dtype === 'BF16' ? decodeBF16(encodeBF16(values)) : values;

    const cases: { format: TensorFileFormat; dtype: TensorDType; layout: (dtype: TensorDType) => TensorLayout }[] = [
      { format: ggufFormat, dtype: 'F32', layout: () => ({ tensors: [{ name: 'a', dtype: 'F32', shape: [7, 3] }, { name: 'b', dtype: 'F32', shape: [5] }], metadata: new Map() }) },
      ...(['F32', 'F16', 'BF16'] as const).map((dtype) => ({
        format: safetensorsFormat,
        dtype,
        layout: (d: TensorDType): TensorLayout => ({ tensors: [{ name: 'a', dtype: d, shape: [3, 7] }, { name: 'b', dtype: d, shape: [5] }], metadata: { format: 'pt' } }),
      })),
    ];

    for (const { format, dtype, layout } of cases) {
      it(`${format.name} ${dtype}: read(name, view) fills the view in place; a sink writes a view on wasm memory`, async () => {
        const dir = await dirs.make();
        const file = path.join(dir, `in.${format.name}`);
        const rng = createRng(9);
        const values = [new Float32Array(21), new Float32Array(5)];
        values.forEach((v) => fillRandom(v, rng));
        const sink = await format.create(file, layout(dtype));
        for (const v of values) await sink.write(v);
        await sink.commit();

        const kernel = createPsoKernel(21);
        const source = await format.open(file);
        try {
          const b = kernel.buffers(21);
          const into = b.globalBest; // at a nonzero offset of the wasm memory
          assert.notEqual(into.byteOffset, 0);
          assert.equal(await source.read('a', into), into, 'returns the given array');
          assertSameBits(into, stored(values[0]!, dtype), 'a');
          const small = kernel.buffers(5).personalBest;
          await source.read('b', small);
          assertSameBits(small, stored(values[1]!, dtype), 'b');
          await assert.rejects(source.read('a', kernel.buffers(20).position), /21 elements, the output array 20/);
          assertSameBits(await source.read('b'), stored(values[1]!, dtype), 'fresh array');

          // Write both tensors straight from the kernel's output buffers, read them back.
          const out = path.join(dir, `out.${format.name}`);
          const writer = await format.create(out, layout(dtype));
          await writer.write(b.outPosition.fill(0.5).subarray(0, 21));
          const tail = kernel.buffers(5).outVelocity;
          tail.set([1, -2, 3.25, -0, 1e-45]);
          await writer.write(tail);
          await writer.commit();
          const back = await format.open(out);
          try {
            assertSameBits(await back.read('a'), new Float32Array(21).fill(0.5), 'written a');
            assertSameBits(await back.read('b'), stored(Float32Array.from([1, -2, 3.25, -0, 1e-45]), dtype), 'written b');
          } finally {
            await back.close();
          }
        } finally {
          await source.close();
        }
      });
    }
  });
});
