/**
 * Element-type conversions between float32 and the 16-bit formats adapters are stored in. Pure and allocation-free
 * per element: whole arrays are converted through a Uint32Array view of the float32 data (bit casting without
 * copies). Node 20 has no Float16Array, so 16-bit values travel as their bit patterns in a Uint16Array.
 *
 * - F16 (IEEE 754 binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits. Encoding rounds to nearest, ties to
 *   even; values too large for F16 (≥ 65520 after rounding) become ±Infinity; values below the normal range become
 *   subnormals (steps of 2^-24) or ±0; NaN stays NaN (quiet); the sign of zero is kept.
 * - BF16 (bfloat16): the upper 16 bits of a float32. Encoding rounds the dropped 16 bits to nearest, ties to even
 *   (finite values may round up to ±Infinity); NaN stays NaN (quiet).
 */
import type { TensorDType } from './tensor-file';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<TensorDType, number>> = { F32: 4, F16: 2, BF16: 2 };

/** The float32 array's bits, sharing its memory. */
function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

function checkLengths(from: { length: number }, to: { length: number }, fn: string): void {
  if (from.length !== to.length) throw new RangeError(`${fn}: output has ${to.length} elements, input has ${from.length}`);
}

/** Rounds `q + r / 2^shift` to the nearest integer, ties to even (`r` is the dropped low `shift` bits). */
function roundEven(q: number, r: number, shift: number): number {
  const half = 1 << (shift - 1);
  return r > half || (r === half && (q & 1) === 1) ? q + 1 : q;
}

/** float32 → F16 bit patterns. Returns `out` (allocated when omitted). */
export function encodeF16(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  checkLengths(values, out, 'encodeF16');
  const words = bitsOf(values);
  for (let i = 0; i < words.length; i++) {
    const x = words[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    const mantissa = x & 0x7fffff;
    const e = exponent - 112; // rebias 127 → 15
    let h: number;
    if (exponent === 0xff) {
      h = mantissa === 0 ? 0x7c00 : 0x7e00 | (mantissa >>> 13); // ±Infinity, or a quiet NaN keeping the top payload
    } else if (e >= 31) {
      h = 0x7c00; // overflow
    } else if (e > 0) {
      // Normal: keep 10 of 23 mantissa bits; a carry out of the mantissa bumps the exponent (up to Infinity).
      h = roundEven((e << 10) | (mantissa >>> 13), mantissa & 0x1fff, 13);
    } else if (e >= -10) {
      // Subnormal: the 24-bit significand in units of 2^-24; a carry reaches the smallest normal, 0x0400.
      const shift = 14 - e;
      const significand = mantissa | 0x800000;
      h = roundEven(significand >>> shift, significand & ((1 << shift) - 1), shift);
    } else {
      h = 0; // below half the smallest subnormal (float32 subnormals included)
    }
    out[i] = sign | h;
  }
  return out;
}

/** 2^-24, the F16 subnormal step. */
const F16_SUBNORMAL_STEP = 2 ** -24;

/** F16 bit patterns → float32 (exact). Returns `out` (allocated when omitted). */
export function decodeF16(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  checkLengths(bits, out, 'decodeF16');
  const words = bitsOf(out);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      const magnitude = mantissa * F16_SUBNORMAL_STEP; // zero or subnormal; the sign is applied so that -0 stays -0
      out[i] = h & 0x8000 ? -magnitude : magnitude;
    } else {
      const sign = (h & 0x8000) << 16;
      words[i] = exponent === 0x1f ? sign | 0x7f800000 | (mantissa << 13) : sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
  }
  return out;
}

/** float32 → BF16 bit patterns. Returns `out` (allocated when omitted). */
export function encodeBF16(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  checkLengths(values, out, 'encodeBF16');
  const words = bitsOf(values);
  for (let i = 0; i < words.length; i++) {
    const x = words[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x0040; // NaN: keep it a (quiet) NaN after truncation
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // x ≤ 0xff800000 (-Infinity): the sum stays below 2^32
  }
  return out;
}

/** BF16 bit patterns → float32 (exact). Returns `out` (allocated when omitted). */
export function decodeBF16(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  checkLengths(bits, out, 'decodeBF16');
  const words = bitsOf(out);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i]! << 16;
  return out;
}
