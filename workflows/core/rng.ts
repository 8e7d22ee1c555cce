/**
 * Seeded pseudo-random numbers for every random choice of the algorithm (paper-notes "Our decisions" 1).
 *
 * The official code leaves numpy unseeded; we instead derive an independent stream for every
 * (seed, purpose, iteration, …) so that a study is reproducible across crashes, replays and
 * continue-as-new without carrying generator state around. The generator is sfc32 (Chris Doty-Humphrey's
 * Small Fast Counting generator, 128-bit state), seeded through splitmix32; both are tiny, fast and pass
 * PractRand far beyond what a PSO needs.
 */

/** A deterministic stream of uniform numbers. */
export interface Rng {
  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over the UTF-16 code units of a string, 32 bits. Used only to mix labels into seeds. */
function fnv1a(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** sfc32 generator seeded from a 32-bit integer. */
export function createRng(seed: number): Rng {
  const mix = splitmix32(seed);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const nextU32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // Discard the first outputs: sfc32 mixes its state in the first dozen steps.
  for (let i = 0; i < 12; i++) nextU32();
  return {
    next: () => nextU32() / 4294967296,
    int: (n: number) => {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int expects a positive integer, got ${n}`);
      return Math.floor((nextU32() / 4294967296) * n);
    },
  };
}

/**
 * An independent stream for one purpose, e.g. `deriveRng(seed, 'role', iteration)`.
 * Same arguments ⇒ same stream, whatever happened before.
 */
export function deriveRng(seed: number, ...labels: (string | number)[]): Rng {
  // JSON keeps label boundaries unambiguous: ('a/b') and ('a', 'b') are different streams.
  return createRng(fnv1a(JSON.stringify([seed, ...labels])));
}
