/**
 * Benchmark: the weight step's PSO update (paper-notes §5.1) on float32 LoRA tensors in GB/s: the WebAssembly SIMD
 * kernel that `psoUpdateTensors` runs (adapters/pso-kernel.ts, data already in its memory, where the tensor files
 * are read to), and its reference `psoStepInto` on Float32Arrays, against a numpy baseline of the same operation
 * (bench/pso_tensors_numpy.py, numpy pinned by scripts/bench-venv.sh) and a plain memory copy in this process.
 * Goals, judged on the kernel row: kernel/numpy ≥ 1.0 and kernel/copy ≥ 0.5.
 *
 *   v' = w_v·v + w_p·(p − x) + w_g·(g − x) + w_w·(x − g_w);   x' = x + λ·v'
 *
 * Bytes: 5 float32 read + 2 float32 written = 28 B per element; every row reports (bytes read + bytes written) / s,
 * 1 GB = 1e9 B. The copy row is `dst.set(src)` with src and dst of 3.5·n float32 each, i.e. the same 28 B per
 * element (14 read + 14 written) over the same footprint. Rounds interleave kernel, JS, copy and numpy so that load
 * from other processes hits all rows alike; each row is the median over rounds of the per-round median. The kernel's
 * output is checked bit for bit against psoStepInto's, and psoStepInto's against a direct recomputation.
 *
 *   node --require tsx/cjs bench/pso-tensors.ts [--sizes 1048576,16777216] [--rounds 5] [--repeats 3] [--no-numpy]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createPsoKernel } from '../adapters/pso-kernel';
import { psoStepInto, type PsoWeights } from '../workflows/core/pso';
import { createRng } from '../workflows/core/rng';

const ROOT = path.resolve(__dirname, '..');
const NUMPY_SCRIPT = path.join(ROOT, 'bench', 'pso_tensors_numpy.py');
const VENV_SCRIPT = path.join(ROOT, 'scripts', 'bench-venv.sh');
const BYTES_PER_ELEMENT = 28;
/** Same constants as WEIGHTS / STEP_LENGTH in bench/pso_tensors_numpy.py (psoWeights of the paper defaults with r = 0.5, 0.5, 0.25, 1). */
const WEIGHTS: PsoWeights = { inertia: 0.25, cognitive: 0.375, social: 0.25, repel: 0.125 };
const STEP_LENGTH = 0.5;
const GOAL_NUMPY = 1.0;
const GOAL_COPY = 0.5;
const CHECKED_INDICES = 4096;

interface NumpyResult {
  elements: number;
  seconds_per_update: number;
  gbps: number;
  variant: string;
  numpy: string;
}

interface Row {
  seconds: number;
  gbps: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const gbps = (elements: number, seconds: number): number => (BYTES_PER_ELEMENT * elements) / seconds / 1e9;

/** Median wall time of `repeats` calls, in seconds. */
function timeIt(repeats: number, fn: () => void): number {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return median(times);
}

function randomTensor(elements: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(elements);
  for (let i = 0; i < elements; i++) out[i] = rng.next() * 2 - 1;
  return out;
}

/** Creates the bench venv (idempotent); returns its python, or undefined with the reason printed. */
function numpyPython(): string | undefined {
  const r = spawnSync('bash', [VENV_SCRIPT], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const python = r.stdout?.trim().split('\n').pop();
  if (r.status === 0 && python) return python;
  console.log(`numpy baseline unavailable: \`bash scripts/bench-venv.sh\` failed (${r.error?.message ?? `exit ${r.status}`}).`);
  console.log('  Fix that (it needs Python 3.10-3.13 with venv and PyPI), then rerun; the JS and copy rows follow regardless.');
  return undefined;
}

function runNumpy(python: string, elements: number, repeats: number): NumpyResult {
  const r = spawnSync(python, [NUMPY_SCRIPT, String(elements), String(repeats)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`numpy baseline failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(line) as NumpyResult;
  if (parsed.elements !== elements) throw new Error(`numpy baseline answered for ${parsed.elements} elements, asked ${elements}`);
  return parsed;
}

/** Exact check of `psoStepInto`'s output against a direct recomputation (float64 arithmetic, float32 stores). */
function checkResult(x: Float32Array, v: Float32Array, p: Float32Array, g: Float32Array, gw: Float32Array, outX: Float32Array, outV: Float32Array): number {
  const n = x.length;
  const { inertia: wV, cognitive: wP, social: wG, repel: wW } = WEIGHTS;
  let mismatches = 0;
  for (let k = 0; k < CHECKED_INDICES; k++) {
    const i = k < 2 ? k * (n - 1) : Math.floor((k * 2654435761) % n);
    const xi = x[i]!;
    const vi = wV * v[i]! + wP * (p[i]! - xi) + wG * (g[i]! - xi) + wW * (xi - gw[i]!);
    if (!Object.is(outV[i], Math.fround(vi)) || !Object.is(outX[i], Math.fround(xi + STEP_LENGTH * vi))) {
      if (mismatches++ < 3) console.error(`mismatch at ${i}: got (${outX[i]}, ${outV[i]}), expected (${Math.fround(xi + STEP_LENGTH * vi)}, ${Math.fround(vi)})`);
    }
  }
  return mismatches;
}

/** Number of elements whose float32 bits differ (NaNs of either payload count as equal). */
function countDifferentBits(actual: Float32Array, expected: Float32Array): number {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) differ++;
  return differ;
}

const label = (n: number): string => (n % (1 << 20) === 0 ? `${n / (1 << 20)} Mi` : n % 1024 === 0 ? `${n / 1024} Ki` : String(n));
const verdict = (ratio: number, goal: number): string => (ratio >= goal ? 'GOAL MET' : 'GOAL MISSED');

function main(): void {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: `${1 << 20},${1 << 24}` },
      rounds: { type: 'string', default: '5' },
      repeats: { type: 'string', default: '3' },
      'no-numpy': { type: 'boolean', default: false },
    },
  });
  const sizes = values.sizes.split(',').map(Number);
  const rounds = Number(values.rounds);
  const repeats = Number(values.repeats);
  if (sizes.some((n) => !Number.isInteger(n) || n < 2) || !(rounds >= 1) || !(repeats >= 1)) {
    throw new RangeError('--sizes must be integers ≥ 2, --rounds and --repeats ≥ 1');
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`pso-tensors: node ${process.version}, ${os.cpus().length} × ${cpu}, load average ${os.loadavg()[0]!.toFixed(2)}`);
  let python = values['no-numpy'] ? undefined : numpyPython();
  let numpyMissing = python === undefined;

  const lines: string[] = [];
  const goals: boolean[] = [];
  let failed = false;
  for (const n of sizes) {
    const [x, v, p, g, gw] = [1, 2, 3, 4, 5].map((seed) => randomTensor(n, seed)) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    const outX = new Float32Array(n).fill(0);
    const outV = new Float32Array(n).fill(0);
    const copyElements = Math.round(3.5 * n);
    const copySrc = randomTensor(copyElements, 6);
    const copyDst = new Float32Array(copyElements).fill(0);
    const operands = { position: x, velocity: v, personalBest: p, globalBest: g, globalWorst: gw };
    const step = (): void => psoStepInto(operands, WEIGHTS, STEP_LENGTH, outX, outV);
    const copy = (): void => copyDst.set(copySrc);
    const kernel = createPsoKernel(n);
    const buffers = kernel.buffers(n);
    // The operands sit in the kernel's memory, as after psoUpdateTensors has read the tensor files into it.
    for (const [into, from] of [[buffers.position, x], [buffers.velocity, v], [buffers.personalBest, p], [buffers.globalBest, g], [buffers.globalWorst, gw]] as const) into.set(from);
    const kernelStep = (): void => kernel.step(n, WEIGHTS, STEP_LENGTH);

    // Warm-up: optimised code for both kernels, faulted-in pages for every array.
    for (let w = 0; w < 3; w++) {
      step();
      kernelStep();
    }
    copy();
    copy();

    const wasm: number[] = [];
    const js: number[] = [];
    const mem: number[] = [];
    const np: number[] = [];
    let numpyInfo = '';
    for (let r = 0; r < rounds; r++) {
      wasm.push(timeIt(repeats, kernelStep));
      js.push(timeIt(repeats, step));
      mem.push(timeIt(repeats, copy));
      if (python) {
        try {
          const result = runNumpy(python, n, repeats);
          np.push(result.seconds_per_update);
          numpyInfo = `numpy ${result.numpy} (${result.variant})`;
        } catch (error) {
          console.log(`numpy baseline dropped: ${(error as Error).message}`);
          python = undefined;
          numpyMissing = true;
        }
      }
    }
    const mismatches = checkResult(x, v, p, g, gw, outX, outV);
    const kernelMismatches = countDifferentBits(buffers.outPosition, outX) + countDifferentBits(buffers.outVelocity, outV);
    if (mismatches > 0 || kernelMismatches > 0) failed = true;

    const rows: Array<[string, Row | undefined]> = [
      [`PSO kernel (${kernel.implementation}, in memory)`, { seconds: median(wasm), gbps: gbps(n, median(wasm)) }],
      ['psoStepInto (JS, Float32Array)', { seconds: median(js), gbps: gbps(n, median(js)) }],
      [numpyInfo || 'numpy (unavailable)', np.length ? { seconds: median(np), gbps: gbps(n, median(np)) } : undefined],
      ['copy dst.set(src), 3.5n f32', { seconds: median(mem), gbps: gbps(n, median(mem)) }],
    ];
    for (const [name, row] of rows) {
      lines.push(`${label(n).padEnd(8)} ${name.padEnd(34)} ${row ? (row.seconds * 1e3).toFixed(2).padStart(9) : '        -'} ${row ? row.gbps.toFixed(2).padStart(7) : '      -'}`);
    }
    const kernelRow = rows[0]![1]!;
    const jsRow = rows[1]![1]!;
    const npRow = rows[2]![1];
    const copyRow = rows[3]![1]!;
    const vsCopy = kernelRow.gbps / copyRow.gbps;
    goals.push(vsCopy >= GOAL_COPY);
    let ratios = `kernel/copy ${vsCopy.toFixed(2)} ${verdict(vsCopy, GOAL_COPY)} (≥ ${GOAL_COPY})`;
    let reference = `reference psoStepInto/copy ${(jsRow.gbps / copyRow.gbps).toFixed(2)}`;
    if (npRow) {
      const vsNumpy = kernelRow.gbps / npRow.gbps;
      goals.push(vsNumpy >= GOAL_NUMPY);
      ratios = `kernel/numpy ${vsNumpy.toFixed(2)} ${verdict(vsNumpy, GOAL_NUMPY)} (≥ ${GOAL_NUMPY.toFixed(1)});  ${ratios}`;
      reference = `reference psoStepInto/numpy ${(jsRow.gbps / npRow.gbps).toFixed(2)}, ${reference}`;
    } else {
      ratios = `kernel/numpy -;  ${ratios}`;
    }
    lines.push(`${''.padEnd(8)} ${ratios}`);
    lines.push(`${''.padEnd(8)} ${reference};  kernel/psoStepInto ${(kernelRow.gbps / jsRow.gbps).toFixed(2)}`);
    lines.push(`${''.padEnd(8)} correctness: ${mismatches === 0 ? `OK, ${CHECKED_INDICES} sampled elements equal the direct recomputation exactly` : `FAILED, ${mismatches} of ${CHECKED_INDICES} sampled elements differ`}`);
    lines.push(`${''.padEnd(8)} kernel: ${kernelMismatches === 0 ? `OK, all ${2 * n} outputs bit-identical to psoStepInto` : `FAILED, ${kernelMismatches} outputs differ from psoStepInto`}`);
  }

  console.log(`\nPSO update, 28 B/element (5 float32 read + 2 written); GB/s = (bytes read + written) / s; median of ${rounds} rounds × ${repeats} repeats`);
  console.log(`${'elements'.padEnd(8)} ${'row'.padEnd(34)} ${'ms/update'.padStart(9)} ${'GB/s'.padStart(7)}`);
  for (const line of lines) console.log(line);
  const load = os.loadavg()[0]!;
  if (load > os.cpus().length / 2) console.log(`note: load average ${load.toFixed(2)} on ${os.cpus().length} CPUs during the run: other processes competed, numbers are noisy`);
  const allMet = goals.every(Boolean) && !numpyMissing;
  console.log(`\n${allMet ? 'GOAL MET' : 'GOAL MISSED'}: PSO kernel ≥ ${GOAL_NUMPY.toFixed(1)}× numpy and ≥ ${GOAL_COPY}× copy at every size${numpyMissing ? ' (numpy baseline not measured)' : ''}`);
  if (failed) {
    console.error('pso-tensors: a result differs from its reference (kernel vs psoStepInto, psoStepInto vs the direct recomputation)');
    process.exitCode = 1;
  }
}

main();
