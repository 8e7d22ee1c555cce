/**
 * The weight step's PSO update (paper-notes §5.1) as a WebAssembly SIMD kernel over buffers in its own memory:
 *
 *   v' = w_v·v + w_p·(p − x) + w_g·(g − x) + w_w·(x − g_w);   x' = x + λ·v'
 *
 * Why it exists: `psoStepInto` on Float32Arrays runs at 2.2–4.4 GB/s (28 B per element: 5 float32 read, 2
 * written), below numpy (5.6–7.3 GB/s) and far below a memory copy (10–19 GB/s). The same arithmetic in f64x2
 * SIMD lanes runs at 1.5–2.2 ns per element when the data already sits in wasm memory, but copying seven arrays
 * in and out of that memory costs another 4–6.5 ns per element. So the kernel owns one `WebAssembly.Memory`
 * holding the seven buffers (x, v, p, g, g_w, x', v'); `psoUpdateTensors` reads the tensor files straight into
 * them and writes the outputs straight from them. `bench/pso-tensors.ts` (2-core EPYC, loaded machine): 11–13 GB/s at
 * 1 Mi and 16 Mi elements, 1.9–2.3× numpy, 0.7–1.2× the copy, 4–5.5× psoStepInto.
 *
 * Exactness: `psoStepInto` (workflows/core/pso.ts) is the reference, and the results are bit-identical to it
 * (test/adapters/pso-kernel.test.ts). Each float32 is promoted to float64 (exact), the expressions are evaluated
 * in psoStepInto's order — ((w_v·v + w_p·(p − x)) + w_g·(g − x)) + w_w·(x − g_w), then x + λ·v' with the
 * unrounded v' — and both results are rounded to float32 once, on store. Wasm float arithmetic is IEEE 754
 * with round-to-nearest-even, subnormals kept and no fused multiply-add, exactly like JS numbers. (NaN payloads
 * are not canonical in either; a NaN stays a NaN.)
 *
 * The module is written below as bytes by a small encoder (no toolchain, no dependency). Where WebAssembly SIMD
 * is unavailable (`WebAssembly.validate` fails), the kernel keeps the same interface over plain Float32Arrays
 * and runs `psoStepInto`.
 */
import { psoStepInto, type PsoWeights } from '../workflows/core/pso';

/** The seven buffers of one step, named as in `PsoOperands` plus the two outputs. */
export interface PsoKernelBuffers {
  position: Float32Array;
  velocity: Float32Array;
  personalBest: Float32Array;
  globalBest: Float32Array;
  globalWorst: Float32Array;
  outPosition: Float32Array;
  outVelocity: Float32Array;
}

export interface PsoKernel {
  /** 'wasm-simd', or 'js' (psoStepInto) when SIMD is unavailable or the fallback was asked for. */
  readonly implementation: 'wasm-simd' | 'js';
  /** Elements each buffer holds now. */
  readonly capacity: number;
  /**
   * Views of the first `n` elements of the seven buffers, growing them first when `n` exceeds the capacity. A
   * growth invalidates every view handed out before (wasm memory is reallocated; contents are not kept).
   */
  buffers(n: number): PsoKernelBuffers;
  /** One PSO step over the first `n` elements: reads the five operand buffers, writes outPosition / outVelocity. */
  step(n: number, weights: PsoWeights, stepLength: number): void;
}

export interface PsoKernelOptions {
  /** 'js' forces the psoStepInto fallback (tests, comparisons). Default: wasm SIMD when available. */
  implementation?: 'wasm-simd' | 'js';
}

const BUFFER_NAMES = ['position', 'velocity', 'personalBest', 'globalBest', 'globalWorst', 'outPosition', 'outVelocity'] as const;
const WASM_PAGE = 65536;
/**
 * Bytes between the end of one buffer (rounded up to 4 KiB) and the start of the next: 8 pages and 17 cache
 * lines, so the seven streams start at different offsets within a page (no 4 KiB aliasing) and in different
 * cache sets and DRAM banks. Buffers a power of two apart ran a 16 Mi-element step at ~7.5 GB/s, 1088 bytes apart
 * at ~8–12, 33856 apart at ~11–16 (no difference at 64 Ki and 1 Mi elements).
 */
const BUFFER_SKEW = 33856;

/** Largest buffer (elements): seven float32 buffers (plus padding) must fit the 4 GiB a wasm32 memory addresses. */
export const PSO_KERNEL_MAX_ELEMENTS = Math.floor((2 ** 32 / 7 - BUFFER_SKEW - 4096) / 4) & ~15;

/** Creates a kernel whose buffers hold `maxElements` elements (more on demand). */
export function createPsoKernel(maxElements: number, options: PsoKernelOptions = {}): PsoKernel {
  checkCount(maxElements);
  const wasm = options.implementation === 'js' ? undefined : simdRuntime();
  return wasm === undefined ? createJsKernel(maxElements) : createWasmKernel(wasm, maxElements);
}

/** A step must cover a whole number of elements within the buffers. */
function checkStep(n: number, capacity: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > capacity) throw new RangeError(`PSO kernel: step over ${n} elements, the buffers hold ${capacity}`);
}

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > PSO_KERNEL_MAX_ELEMENTS) {
    throw new RangeError(`PSO kernel: ${n} elements per buffer (an integer in 0..${PSO_KERNEL_MAX_ELEMENTS} is needed)`);
  }
}

// ------------------------------------------------------------------------------------------------ wasm kernel

/** The part of the WebAssembly JS API used here (the project compiles without lib.dom, which declares it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: unknown };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
type WasmModule = { readonly __brand: 'WebAssembly.Module' };
interface WasmMemory {
  /** Replaced (and the old one detached) by every `grow`. */
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
/** The runtime's WebAssembly API with the compiled kernel module. */
interface WasmRuntime {
  api: WasmApi;
  module: WasmModule;
}

interface PsoKernelExports {
  /** step(n, x, v, p, g, gw, outX, outV, wV, wP, wG, wW, λ); addresses in bytes. */
  step(n: number, x: number, v: number, p: number, g: number, gw: number, outX: number, outV: number, wV: number, wP: number, wG: number, wW: number, lambda: number): void;
}

/** Buffer capacity (a multiple of 16, at least 16), bytes from one buffer to the next, and wasm pages for `n`. */
function wasmLayout(n: number): { capacity: number; stride: number; pages: number } {
  checkCount(n);
  const capacity = Math.max(16, Math.ceil(n / 16) * 16);
  const stride = Math.ceil((capacity * 4) / 4096) * 4096 + BUFFER_SKEW;
  return { capacity, stride, pages: Math.ceil((7 * stride) / WASM_PAGE) };
}

function createWasmKernel({ api, module }: WasmRuntime, maxElements: number): PsoKernel {
  let { capacity, stride, pages } = wasmLayout(maxElements);
  const memory = new api.Memory({ initial: pages });
  const exports = new api.Instance(module, { env: { memory } }).exports as PsoKernelExports;
  const views = (): Float32Array[] => BUFFER_NAMES.map((_, k) => new Float32Array(memory.buffer, k * stride, capacity));
  let full = views();

  /** Lays the buffers out anew for `n` elements: earlier contents are not kept, earlier views are detached. */
  const grow = (n: number): void => {
    const next = wasmLayout(n);
    if (next.pages > pages) memory.grow(next.pages - pages);
    ({ capacity, stride } = next);
    pages = Math.max(pages, next.pages);
    full = views();
  };

  return {
    implementation: 'wasm-simd',
    get capacity() {
      return capacity;
    },
    buffers(n) {
      checkCount(n);
      if (n > capacity) grow(n);
      return viewsOf(full, n);
    },
    step(n, weights, stepLength) {
      checkStep(n, capacity);
      const s = stride;
      exports.step(n, 0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, weights.inertia, weights.cognitive, weights.social, weights.repel, stepLength);
    },
  };
}

function viewsOf(full: readonly Float32Array[], n: number): PsoKernelBuffers {
  const [position, velocity, personalBest, globalBest, globalWorst, outPosition, outVelocity] = full.map((a) => a.subarray(0, n)) as [
    Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array,
  ];
  return { position, velocity, personalBest, globalBest, globalWorst, outPosition, outVelocity };
}

// -------------------------------------------------------------------------------------------------- fallback

function createJsKernel(maxElements: number): PsoKernel {
  let capacity = 0;
  let full: Float32Array[] = [];
  const grow = (n: number): void => {
    checkCount(n);
    capacity = n;
    full = BUFFER_NAMES.map(() => new Float32Array(n));
  };
  grow(maxElements);
  return {
    implementation: 'js',
    get capacity() {
      return capacity;
    },
    buffers(n) {
      checkCount(n);
      if (n > capacity) grow(n);
      return viewsOf(full, n);
    },
    step(n, weights, stepLength) {
      checkStep(n, capacity);
      const b = viewsOf(full, n);
      psoStepInto(b, weights, stepLength, b.outPosition, b.outVelocity);
    },
  };
}

// ------------------------------------------------------------------------------------------- the wasm module

let runtime: WasmRuntime | null | undefined;

/** WebAssembly with the kernel module compiled (once), or undefined when this runtime lacks WebAssembly SIMD. */
function simdRuntime(): WasmRuntime | undefined {
  if (runtime === undefined) {
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    const bytes = psoKernelBytes();
    runtime = api?.validate(bytes) ? { api, module: new api.Module(bytes) } : null;
  }
  return runtime ?? undefined;
}

/** Opcodes used below (WebAssembly core spec §5.4; SIMD ones follow the 0xfd prefix, LEB128-encoded). */
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  f32Store: 0x38,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Shl: 0x74,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f32DemoteF64: 0xb6,
  f64PromoteF32: 0xbb,
  simd: 0xfd,
} as const;
const SIMD = {
  f64x2Splat: 0x14,
  store64Lane: 0x5b,
  load64Zero: 0x5d,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
} as const;
const TYPE = { i32: 0x7f, f64: 0x7c, v128: 0x7b, func: 0x60, void: 0x40 } as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string): number[] => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s, 'utf8')];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** Function-body instructions, appended in order. */
class Code {
  readonly bytes: number[] = [];
  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  get(local: number): this {
    return this.op(OP.localGet, ...uleb(local));
  }
  set(local: number): this {
    return this.op(OP.localSet, ...uleb(local));
  }
  tee(local: number): this {
    return this.op(OP.localTee, ...uleb(local));
  }
  i32(value: number): this {
    return this.op(OP.i32Const, ...sleb(value));
  }
  plain(opcode: number): this {
    return this.op(opcode);
  }
  simd(opcode: number, ...immediates: number[]): this {
    return this.op(OP.simd, ...uleb(opcode), ...immediates);
  }
  /** A memory access's memarg: log2 alignment, static offset. */
  mem(opcode: number, align: number, offset: number): this {
    return this.op(opcode, ...uleb(align), ...uleb(offset));
  }
  simdMem(opcode: number, align: number, offset: number, ...lane: number[]): this {
    return this.simd(opcode, ...uleb(align), ...uleb(offset), ...lane);
  }
  /** `block { loop { br_if exit (cond); body; br loop } }`: a while loop whose `exitWhen` leaves an i32. */
  whileNot(exitWhen: (c: Code) => void, body: (c: Code) => void): this {
    this.op(OP.block, TYPE.void, OP.loop, TYPE.void);
    exitWhen(this);
    this.op(OP.brIf, 1);
    body(this);
    return this.op(OP.br, 0, OP.end, OP.end);
  }
  ifThen(cond: (c: Code) => void, body: (c: Code) => void): this {
    cond(this);
    this.op(OP.if, TYPE.void);
    body(this);
    return this.op(OP.end);
  }
}

/** Pairs of elements per iteration of the main loop. */
const UNROLL = 4;

/**
 * The module: imports `env.memory`, exports `step` (see PsoKernelExports). Locals: params 0..12, then
 * i (byte offset of the current element), the end offsets of the unrolled and the pair loops, the five weights
 * splatted to f64x2, the current x and v' (f64x2), and x (f64) in the scalar tail.
 */
export function psoKernelBytes(): Uint8Array {
  const [N, X, V, P, G, GW, OX, OV, WV, WP, WG, WW, LAMBDA] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as const;
  const [I, END_UNROLLED, END_PAIRS, SV, SP, SG, SW, SL, X2, V2, X1, V1] = [13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24] as const;
  const c = new Code();

  // One pair of elements at byte offset i + `offset`, in f64x2 lanes.
  const load2 = (base: number, offset: number): void => {
    c.get(base).get(I).plain(OP.i32Add).simdMem(SIMD.load64Zero, 3, offset).simd(SIMD.f64x2PromoteLowF32x4);
  };
  const sub = (): Code => c.simd(SIMD.f64x2Sub);
  const mul = (): Code => c.simd(SIMD.f64x2Mul);
  const add = (): Code => c.simd(SIMD.f64x2Add);
  const pair = (offset: number): void => {
    load2(X, offset);
    c.set(X2);
    c.get(OV).get(I).plain(OP.i32Add); // address of v'
    c.get(SV); load2(V, offset); mul(); // w_v·v
    c.get(SP); load2(P, offset); c.get(X2); sub(); mul(); add(); // + w_p·(p − x)
    c.get(SG); load2(G, offset); c.get(X2); sub(); mul(); add(); // + w_g·(g − x)
    c.get(SW); c.get(X2); load2(GW, offset); sub(); mul(); add(); // + w_w·(x − g_w)
    c.tee(V2).simd(SIMD.f32x4DemoteF64x2Zero).simdMem(SIMD.store64Lane, 3, offset, 0);
    c.get(OX).get(I).plain(OP.i32Add); // address of x'
    c.get(X2).get(SL).get(V2); mul(); add(); // x + λ·v'
    c.simd(SIMD.f32x4DemoteF64x2Zero).simdMem(SIMD.store64Lane, 3, offset, 0);
  };
  const advance = (bytes: number): void => void c.get(I).i32(bytes).plain(OP.i32Add).set(I);

  // Splat the weights; end offsets in bytes: n rounded down to a multiple of 2·UNROLL, and of 2.
  for (const [w, s] of [[WV, SV], [WP, SP], [WG, SG], [WW, SW], [LAMBDA, SL]] as const) c.get(w).simd(SIMD.f64x2Splat).set(s);
  c.get(N).i32(-2 * UNROLL).plain(OP.i32And).i32(2).plain(OP.i32Shl).set(END_UNROLLED);
  c.get(N).i32(-2).plain(OP.i32And).i32(2).plain(OP.i32Shl).set(END_PAIRS);
  c.whileNot(
    () => c.get(I).get(END_UNROLLED).plain(OP.i32GeU),
    () => {
      for (let k = 0; k < UNROLL; k++) pair(8 * k);
      advance(8 * UNROLL);
    },
  );
  c.whileNot(
    () => c.get(I).get(END_PAIRS).plain(OP.i32GeU),
    () => {
      pair(0);
      advance(8);
    },
  );
  // Scalar tail (n odd): the same expression on one f64.
  const load1 = (base: number): void => void c.get(base).get(I).plain(OP.i32Add).mem(OP.f32Load, 2, 0).plain(OP.f64PromoteF32);
  c.ifThen(
    () => c.get(N).i32(1).plain(OP.i32And),
    () => {
      load1(X);
      c.set(X1);
      c.get(OV).get(I).plain(OP.i32Add);
      c.get(WV); load1(V); c.plain(OP.f64Mul);
      c.get(WP); load1(P); c.get(X1).plain(OP.f64Sub).plain(OP.f64Mul).plain(OP.f64Add);
      c.get(WG); load1(G); c.get(X1).plain(OP.f64Sub).plain(OP.f64Mul).plain(OP.f64Add);
      c.get(WW).get(X1); load1(GW); c.plain(OP.f64Sub).plain(OP.f64Mul).plain(OP.f64Add);
      c.tee(V1).plain(OP.f32DemoteF64).mem(OP.f32Store, 2, 0);
      c.get(OX).get(I).plain(OP.i32Add);
      c.get(X1).get(LAMBDA).get(V1).plain(OP.f64Mul).plain(OP.f64Add);
      c.plain(OP.f32DemoteF64).mem(OP.f32Store, 2, 0);
    },
  );
  c.plain(OP.end);

  const params = [...Array<number>(8).fill(TYPE.i32), ...Array<number>(5).fill(TYPE.f64)];
  const locals = [[3, TYPE.i32], [7, TYPE.v128], [2, TYPE.f64]].map(([count, type]) => [...uleb(count!), type!]);
  const body = [...vec(locals), ...c.bytes];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec([[TYPE.func, ...uleb(params.length), ...params, 0]])), // type 0: (13 params) → ()
    ...section(2, vec([[...utf8('env'), ...utf8('memory'), 0x02, 0x00, 0x01]])), // import memory, min 1 page
    ...section(3, vec([uleb(0)])), // function 0 has type 0
    ...section(7, vec([[...utf8('step'), 0x00, 0x00]])), // export function 0 as "step"
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}
