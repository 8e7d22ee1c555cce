import assert from 'node:assert/strict';
import { decodeBF16, decodeF16, encodeBF16, encodeF16 } from '../../adapters/dtype';

const f16 = (x: number): number => encodeF16(Float32Array.of(x))[0]!;
const fromF16 = (h: number): number => decodeF16(Uint16Array.of(h))[0]!;
const bf16 = (x: number): number => encodeBF16(Float32Array.of(x))[0]!;
const fromBF16 = (h: number): number => decodeBF16(Uint16Array.of(h))[0]!;
const hex = (h: number): string => `0x${h.toString(16).padStart(4, '0')}`;

/** The value of F16 bits by the textbook formula (independent of the decoder's bit tricks). */
function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

const isF16NaN = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isBF16NaN = (h: number): boolean => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

/** Float32 values from raw bit patterns. */
function floatsFromBits(...bits: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

describe('dtype: float32 → F16', () => {
  const cases: [string, number, number][] = [
    ['1', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['0.5', 0.5, 0x3800],
    ['0.1 (rounded)', 0.1, 0x2e66],
    ['1/3 (rounded down)', 1 / 3, 0x3555],
    ['65504, the largest finite', 65504, 0x7bff],
    ['65519, below the midpoint to 65536', 65519, 0x7bff],
    ['65520, the midpoint: ties to even = Infinity', 65520, 0x7c00],
    ['-1e6 overflows to -Infinity', -1e6, 0xfc00],
    ['Infinity', Infinity, 0x7c00],
    ['-Infinity', -Infinity, 0xfc00],
    ['0', 0, 0x0000],
    ['-0 keeps its sign', -0, 0x8000],
    ['6e-8: the smallest subnormal 2^-24', 6e-8, 0x0001],
    ['2^-25: a tie between 0 and 2^-24, to even 0', 2 ** -25, 0x0000],
    ['1.5 · 2^-24: a tie between 1 and 2 steps, to even 2', 1.5 * 2 ** -24, 0x0002],
    ['-3 · 2^-26 rounds to -2^-24', -3 * 2 ** -26, 0x8001],
    ['1023.5 · 2^-24: a subnormal carrying into the smallest normal', 1023.5 * 2 ** -24, 0x0400],
    ['2^-14, the smallest normal', 2 ** -14, 0x0400],
    ['1e-10 underflows to 0', 1e-10, 0x0000],
    ['-1e-10 underflows to -0', -1e-10, 0x8000],
    ['1 + 2^-11: a tie, to even 1', 1 + 2 ** -11, 0x3c00],
    ['1 + 3 · 2^-11: a tie, to even 1 + 2^-9', 1 + 3 * 2 ** -11, 0x3c02],
    ['1 + 2^-11 + 2^-20: just above the tie', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['2047.5 rounds to 2048 (mantissa carry into the exponent)', 2047.5, 0x6800],
  ];
  for (const [what, x, expected] of cases) {
    it(what, () => assert.equal(hex(f16(x)), hex(expected)));
  }

  it('NaN stays NaN (quiet), keeping the sign; signalling NaN and float32 subnormals', () => {
    const out = encodeF16(floatsFromBits(0x7fc00000, 0xffc00000, 0x7f800001, 0x00000001, 0x80000001));
    assert.ok(isF16NaN(out[0]!) && (out[0]! & 0x8000) === 0, hex(out[0]!));
    assert.ok(isF16NaN(out[1]!) && (out[1]! & 0x8000) !== 0, hex(out[1]!));
    assert.ok(isF16NaN(out[2]!), `signalling NaN must not become Infinity: ${hex(out[2]!)}`);
    assert.equal(hex(out[3]!), '0x0000');
    assert.equal(hex(out[4]!), '0x8000');
  });

  it('rounds to the nearest F16, ties to even, over random values of every magnitude', () => {
    let seed = 12345;
    const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const bits = new Uint32Array(20000);
    for (let i = 0; i < bits.length; i++) {
      const exponent = 90 + (random() % 54); // 2^-37 … 2^16: underflow, subnormals, normals, overflow
      bits[i] = ((random() & 1) << 31) | (exponent << 23) | (random() & 0x7fffff);
    }
    const values = new Float32Array(bits.buffer);
    const encoded = encodeF16(values);
    values.forEach((x, i) => {
      const h = encoded[i]!;
      const magnitude = Math.abs(x);
      const got = Math.abs(f16Value(h));
      if (magnitude >= 65520) return assert.equal(got, Infinity, `${x} → ${hex(h)}`);
      assert.equal(h >> 15, x < 0 ? 1 : 0, `sign of ${x} → ${hex(h)}`);
      const m = h & 0x7fff;
      const below = m === 0 ? -Infinity : f16Value(m - 1);
      const above = f16Value(m + 1);
      const error = Math.abs(got - magnitude);
      assert.ok(error <= Math.abs(below - magnitude) && error <= Math.abs(above - magnitude), `${x} → ${hex(h)} is not nearest`);
      if (error === Math.abs(above - magnitude) || error === Math.abs(below - magnitude)) assert.equal(m & 1, 0, `tie ${x} → ${hex(h)} not even`);
    });
  });

  it('throws when the output length differs', () => {
    assert.throws(() => encodeF16(new Float32Array(3), new Uint16Array(2)), RangeError);
  });
});

describe('dtype: F16 → float32', () => {
  it('decodes hand-picked values', () => {
    assert.equal(fromF16(0x3c00), 1);
    assert.equal(fromF16(0xc000), -2);
    assert.equal(fromF16(0x7bff), 65504);
    assert.equal(fromF16(0x3555), 0.333251953125);
    assert.equal(fromF16(0x0001), 2 ** -24);
    assert.equal(fromF16(0x83ff), -1023 * 2 ** -24);
    assert.equal(fromF16(0x7c00), Infinity);
    assert.equal(fromF16(0xfc00), -Infinity);
    assert.ok(Number.isNaN(fromF16(0x7e00)));
    assert.ok(Object.is(fromF16(0x8000), -0));
    assert.ok(Object.is(fromF16(0x0000), 0));
  });

  it('decodes all 65536 patterns exactly, and encoding them back is the identity (NaNs stay NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = decodeF16(all);
    const back = encodeF16(decoded);
    for (let h = 0; h < 65536; h++) {
      const expected = f16Value(h);
      if (Number.isNaN(expected)) {
        assert.ok(Number.isNaN(decoded[h]!) && isF16NaN(back[h]!), hex(h));
      } else {
        assert.ok(Object.is(decoded[h], expected), `${hex(h)}: ${decoded[h]} vs ${expected}`);
        assert.equal(back[h], h, hex(h));
      }
    }
  });

  it('writes into a given output array', () => {
    const out = new Float32Array(2);
    assert.equal(decodeF16(Uint16Array.of(0x3c00, 0x4000), out), out);
    assert.deepEqual([...out], [1, 2]);
  });
});

describe('dtype: float32 ↔ BF16', () => {
  const cases: [string, number, number][] = [
    ['1', 1, 0x3f80],
    ['-2', -2, 0xc000],
    ['1 + 2^-7 (exact)', 1.0078125, 0x3f81],
    ['1.00390625 = 1 + 2^-8: a tie, to even 1', 1.00390625, 0x3f80],
    ['1.01171875 = 1 + 3 · 2^-8: a tie, to even 1 + 2^-6', 1.01171875, 0x3f82],
    ['1 + 2^-8 + 2^-20: just above the tie', 1 + 2 ** -8 + 2 ** -20, 0x3f81],
    ['1/3 (0x3eaaaaab) rounds up', 1 / 3, 0x3eab],
    ['the largest float32 rounds up to Infinity', 3.4028234663852886e38, 0x7f80],
    ['-Infinity', -Infinity, 0xff80],
    ['-0 keeps its sign', -0, 0x8000],
  ];
  for (const [what, x, expected] of cases) {
    it(what, () => assert.equal(hex(bf16(x)), hex(expected)));
  }

  it('NaN stays NaN, including a signalling NaN whose payload lies in the dropped bits', () => {
    const out = encodeBF16(floatsFromBits(0x7fc00000, 0x7f800001, 0xff800001));
    assert.ok(out.every(isBF16NaN), [...out].map(hex).join(' '));
    assert.equal(out[2]! & 0x8000, 0x8000);
  });

  it('decodes hand-picked values', () => {
    assert.equal(fromBF16(0x3f80), 1);
    assert.equal(fromBF16(0xc000), -2);
    assert.equal(fromBF16(0x3eab), 0.333984375);
    assert.equal(fromBF16(0x4049), 3.140625);
    assert.equal(fromBF16(0xff80), -Infinity);
    assert.ok(Number.isNaN(fromBF16(0x7fc0)));
    assert.ok(Object.is(fromBF16(0x8000), -0));
  });

  it('encoding all 65536 decoded patterns back is the identity (NaNs stay NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = encodeBF16(decodeBF16(all));
    for (let h = 0; h < 65536; h++) {
      if (isBF16NaN(h)) assert.ok(isBF16NaN(back[h]!), hex(h));
      else assert.equal(back[h], h, hex(h));
    }
  });

  it('throws when the output length differs', () => {
    assert.throws(() => decodeBF16(new Uint16Array(1), new Float32Array(2)), RangeError);
  });
});
