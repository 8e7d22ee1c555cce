import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeBF16, decodeF16, encodeBF16, encodeF16 } from '../../adapters/dtype';
import { ggufFormat } from '../../adapters/gguf-tensors';
import { safetensorsFormat } from '../../adapters/safetensors';
import { TensorLayoutMismatch, type TensorDType, type TensorFileFormat, type TensorLayout } from '../../adapters/tensor-file';
import { psoUpdateTensors, velocityTowards, type TensorPsoInputs } from '../../adapters/tensor-pso';
import { readLoraAdapter, writeLoraAdapter } from '../../llm/gguf-lora';
import { psoStep, psoWeights, type PsoWeights } from '../../workflows/core/pso';
import { createRng } from '../../workflows/core/rng';
import { tmpDirs } from '../activities/tmp-dir';

/** Deterministic values of mixed magnitudes (so that float32 rounding actually happens). */
function randomValues(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() - 0.5) * (rng.next() < 0.5 ? 0.03 : 3));
}

/** Two LoRA pairs: blk.0.attn_q (n_in 6, n_out 6) and blk.1.ffn_up (n_in 6, n_out 10), rank 2. */
const RANK = 2;
const PAIRS = [
  { name: 'blk.0.attn_q.weight', nIn: 6, nOut: 6 },
  { name: 'blk.1.ffn_up.weight', nIn: 6, nOut: 10 },
] as const;
/** Element counts of the 4 tensors in file order (a, b, a, b). */
const SIZES = PAIRS.flatMap((p) => [p.nIn * RANK, RANK * p.nOut]);
const TOTAL = SIZES.reduce((a, b) => a + b, 0);

/** A whole adapter's values, one array per tensor in layout order. */
type Tensors = Float32Array[];

function randomTensors(seed: number): Tensors {
  return SIZES.map((n, i) => randomValues(n, seed * 100 + i));
}

async function writeGgufAdapter(file: string, tensors: Tensors, alpha = 8, nOut1: number = PAIRS[1].nOut): Promise<string> {
  return writeLoraAdapter(file, {
    architecture: 'llama',
    alpha,
    rank: RANK,
    tensors: PAIRS.map((p, k) => {
      const nOut = k === 1 ? nOut1 : p.nOut;
      return { name: p.name, a: tensors[2 * k]!, b: k === 1 && nOut !== p.nOut ? randomValues(RANK * nOut, 5) : tensors[2 * k + 1]!, aDims: [p.nIn, RANK], bDims: [RANK, nOut] };
    }),
  });
}

/** The PEFT-style layout of the same adapter: lora_A [r, n_in], lora_B [n_out, r]. */
function peftLayout(dtype: TensorDType, metadata: Record<string, string> = { format: 'pt' }): TensorLayout {
  return {
    tensors: PAIRS.flatMap((p, k) => [
      { name: `base_model.model.layers.${k}.proj.lora_A.weight`, dtype, shape: [RANK, p.nIn] },
      { name: `base_model.model.layers.${k}.proj.lora_B.weight`, dtype, shape: [p.nOut, RANK] },
    ]),
    metadata,
  };
}

async function writeWith(format: TensorFileFormat, file: string, layout: TensorLayout, tensors: Tensors): Promise<{ sha256: string; bytes: number }> {
  const sink = await format.create(file, layout);
  for (const t of tensors) await sink.write(t);
  return sink.commit();
}

async function readAll(format: TensorFileFormat, file: string): Promise<{ layout: TensorLayout; tensors: Tensors }> {
  const source = await format.open(file);
  try {
    const tensors: Tensors = [];
    for (const t of source.layout.tensors) tensors.push(await source.read(t.name));
    return { layout: source.layout, tensors };
  } finally {
    await source.close();
  }
}

const flat = (tensors: Tensors): number[] => tensors.flatMap((t) => Array.from(t));

/** Splits a flat vector back into tensors of the given sizes. */
function split(values: readonly number[], sizes: readonly number[]): number[][] {
  let offset = 0;
  return sizes.map((n) => values.slice(offset, (offset += n)));
}

/** What a float64 value becomes once stored in a tensor of `dtype` (through float32, as the writers do). */
function storedAs(values: readonly number[], dtype: TensorDType): Float32Array {
  const f32 = Float32Array.from(values); // = Math.fround of every value
  if (dtype === 'F16') return decodeF16(encodeF16(f32));
  if (dtype === 'BF16') return decodeBF16(encodeBF16(f32));
  return f32;
}

function assertSameFloats(actual: Float32Array, expected: Float32Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

const sha256File = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/** r = (0.3, 0.8, 0.55, 0.9), φ = (0.2, 0.3, 0.4, 0.05): weights that are not dyadic fractions. */
const WEIGHTS: PsoWeights = psoWeights(
  { inertia: 0.2, cognitive: 0.3, social: 0.4, repel: 0.05, repelEnabled: true, weightRandomness: true },
  { rV: 0.3, rP: 0.8, rG: 0.55, rW: 0.9 },
);
const STEP = 0.7;

type Operand = 'position' | 'velocity' | 'personalBest' | 'globalBest' | 'globalWorst';
const OPERANDS: readonly Operand[] = ['position', 'velocity', 'personalBest', 'globalBest', 'globalWorst'];

interface Setup {
  format: TensorFileFormat;
  suffix: string;
  /** Writes operand `name` with `tensors` into `dir`; x gets distinct metadata. */
  write(dir: string, name: Operand, tensors: Tensors): Promise<string>;
}

const SETUPS: Setup[] = [
  {
    format: ggufFormat,
    suffix: '.gguf',
    write: async (dir, name, tensors) => {
      const file = path.join(dir, `${name}.gguf`);
      await writeGgufAdapter(file, tensors, name === 'position' ? 16 : 8);
      return file;
    },
  },
  {
    format: safetensorsFormat,
    suffix: '.safetensors',
    write: async (dir, name, tensors) => {
      const file = path.join(dir, `${name}.safetensors`);
      await writeWith(safetensorsFormat, file, peftLayout('F32', { format: 'pt', operand: name }), tensors);
      return file;
    },
  },
];

describe('adapters/tensor-pso', () => {
  const dirs = tmpDirs('tensor-pso');
  after(() => dirs.cleanup());

  /** Five random adapters with identical layouts in `dir`; the values as stored in the files. */
  async function fiveAdapters(setup: Setup, dir: string): Promise<{ files: Record<Operand, string>; values: Record<Operand, Tensors> }> {
    const files = {} as Record<Operand, string>;
    const values = {} as Record<Operand, Tensors>;
    for (const [i, name] of OPERANDS.entries()) {
      files[name] = await setup.write(dir, name, randomTensors(i + 1));
      values[name] = (await readAll(setup.format, files[name])).tensors;
    }
    return { files, values };
  }

  /** The float64 reference: psoStep on the concatenation of all tensors. */
  function reference(values: Record<Operand, Tensors>, zeroVelocity = false): { position: number[]; velocity: number[] } {
    return psoStep(
      {
        position: flat(values.position),
        velocity: zeroVelocity ? new Array<number>(TOTAL).fill(0) : flat(values.velocity),
        personalBest: flat(values.personalBest),
        globalBest: flat(values.globalBest),
        globalWorst: flat(values.globalWorst),
      },
      WEIGHTS,
      STEP,
    );
  }

  for (const setup of SETUPS) {
    describe(`${setup.format.name} adapters`, () => {
      it('PSO over tensors equals the same update computed on flat arrays (exactly: float32 rounding of the float64 step)', async () => {
        const dir = await dirs.make();
        const { files, values } = await fiveAdapters(setup, dir);
        const outDir = path.join(dir, 'out');
        const out = { position: path.join(outDir, `x${setup.suffix}`), velocity: path.join(outDir, `v${setup.suffix}`) };
        await psoUpdateTensors(setup.format, files, WEIGHTS, STEP, out);
        const expected = reference(values);
        const position = await readAll(setup.format, out.position);
        const velocity = await readAll(setup.format, out.velocity);
        // psoStepInto computes each coordinate in float64 and stores it into a Float32Array, and x' uses the
        // unrounded v': so every stored value is exactly Math.fround of the float64 reference.
        split(expected.position, SIZES).forEach((e, t) => assertSameFloats(position.tensors[t]!, storedAs(e, 'F32'), `x' tensor ${t}`));
        split(expected.velocity, SIZES).forEach((e, t) => assertSameFloats(velocity.tensors[t]!, storedAs(e, 'F32'), `v' tensor ${t}`));
        // Sanity: the step moved every tensor.
        position.tensors.forEach((t, i) => assert.notDeepEqual(t, values.position[i], `tensor ${i} did not move`));
      });

      it('velocity null ⇒ v = 0 (restart): v′ = w_p(p − x) + w_g(g − x) + w_w(x − g_w)', async () => {
        const dir = await dirs.make();
        const { files, values } = await fiveAdapters(setup, dir);
        const inputs: TensorPsoInputs = { ...files, velocity: null };
        const out = { position: path.join(dir, `x-null${setup.suffix}`), velocity: path.join(dir, `v-null${setup.suffix}`) };
        await psoUpdateTensors(setup.format, inputs, WEIGHTS, STEP, out);
        const expected = reference(values, true);
        assertSameFloats(Float32Array.from(flat((await readAll(setup.format, out.position)).tensors)), storedAs(expected.position, 'F32'), "x'");
        assertSameFloats(Float32Array.from(flat((await readAll(setup.format, out.velocity)).tensors)), storedAs(expected.velocity, 'F32'), "v'");
        // …which differs from the step with the file's velocity.
        assert.notDeepEqual(expected.velocity, reference(values).velocity);
      });

      it('outputs keep the names, shapes, dtypes and metadata of x (not of the other operands)', async () => {
        const dir = await dirs.make();
        const { files } = await fiveAdapters(setup, dir);
        const out = { position: path.join(dir, `x2${setup.suffix}`), velocity: path.join(dir, `v2${setup.suffix}`) };
        await psoUpdateTensors(setup.format, files, WEIGHTS, STEP, out);
        const x = await readAll(setup.format, files.position);
        const p = await readAll(setup.format, files.personalBest);
        assert.notDeepEqual(x.layout.metadata, p.layout.metadata, 'test setup: x has its own metadata');
        assert.deepEqual((await readAll(setup.format, out.position)).layout, x.layout);
        assert.deepEqual((await readAll(setup.format, out.velocity)).layout, x.layout);
      });

      it('returns the sha256 and size of the written files; the same inputs give the same bytes', async () => {
        const dir = await dirs.make();
        const { files } = await fiveAdapters(setup, dir);
        const first = { position: path.join(dir, `a-x${setup.suffix}`), velocity: path.join(dir, `a-v${setup.suffix}`) };
        const second = { position: path.join(dir, `b-x${setup.suffix}`), velocity: path.join(dir, `b-v${setup.suffix}`) };
        const written = await psoUpdateTensors(setup.format, files, WEIGHTS, STEP, first);
        for (const which of ['position', 'velocity'] as const) {
          assert.equal(written[which].sha256, await sha256File(first[which]), `${which} sha256`);
          assert.equal(written[which].bytes, (await stat(first[which])).size, `${which} bytes`);
        }
        assert.notEqual(written.position.sha256, written.velocity.sha256);
        assert.deepEqual(await psoUpdateTensors(setup.format, files, WEIGHTS, STEP, second), written);
      });

      it('reports progress after every tensor', async () => {
        const dir = await dirs.make();
        const { files } = await fiveAdapters(setup, dir);
        const calls: [number, number][] = [];
        await psoUpdateTensors(setup.format, files, WEIGHTS, STEP, { position: path.join(dir, `px${setup.suffix}`), velocity: path.join(dir, `pv${setup.suffix}`) }, (done, total) =>
          calls.push([done, total]),
        );
        assert.deepEqual(calls, [
          [1, 4],
          [2, 4],
          [3, 4],
          [4, 4],
        ]);
      });

      it('velocityTowards = partner − x exactly (float32), zeros with a null partner, in x’s layout', async () => {
        const dir = await dirs.make();
        const { files, values } = await fiveAdapters(setup, dir);
        const toward = path.join(dir, `toward${setup.suffix}`);
        const zero = path.join(dir, `zero${setup.suffix}`);
        const written = await velocityTowards(setup.format, files.position, files.globalBest, toward);
        const zeros = await velocityTowards(setup.format, files.position, null, zero);
        const x = await readAll(setup.format, files.position);
        const v = await readAll(setup.format, toward);
        const z = await readAll(setup.format, zero);
        assert.deepEqual(v.layout, x.layout);
        assert.deepEqual(z.layout, x.layout);
        values.position.forEach((xt, t) => {
          const gt = values.globalBest[t]!;
          assertSameFloats(v.tensors[t]!, Float32Array.from(xt, (xi, i) => Math.fround(gt[i]! - xi)), `v tensor ${t}`);
          assertSameFloats(z.tensors[t]!, new Float32Array(xt.length), `zero tensor ${t}`);
        });
        assert.equal(written.sha256, await sha256File(toward));
        assert.equal(written.bytes, (await stat(toward)).size);
        assert.equal(zeros.sha256, await sha256File(zero));
      });
    });
  }

  describe('16-bit safetensors', () => {
    for (const dtype of ['BF16', 'F16'] as const) {
      it(`${dtype} inputs give ${dtype} outputs holding the ${dtype} rounding of the float32 step`, async () => {
        const dir = await dirs.make();
        const layout = peftLayout(dtype);
        const files = {} as Record<Operand, string>;
        const values = {} as Record<Operand, Tensors>;
        for (const [i, name] of OPERANDS.entries()) {
          files[name] = path.join(dir, `${name}.safetensors`);
          await writeWith(safetensorsFormat, files[name], layout, randomTensors(i + 1));
          values[name] = (await readAll(safetensorsFormat, files[name])).tensors;
        }
        const out = { position: path.join(dir, 'x.safetensors'), velocity: path.join(dir, 'v.safetensors') };
        await psoUpdateTensors(safetensorsFormat, files, WEIGHTS, STEP, out);
        const expected = reference(values);
        const position = await readAll(safetensorsFormat, out.position);
        const velocity = await readAll(safetensorsFormat, out.velocity);
        assert.deepEqual(position.layout, layout);
        assert.deepEqual(velocity.layout, layout);
        assert.ok(position.layout.tensors.every((t) => t.dtype === dtype));
        // File size: header + 2 bytes per element (not 4).
        const bytes = await readFile(out.position);
        assert.equal(bytes.length, 8 + Number(bytes.readBigUInt64LE(0)) + 2 * TOTAL);
        split(expected.position, SIZES).forEach((e, t) => assertSameFloats(position.tensors[t]!, storedAs(e, dtype), `x' tensor ${t}`));
        split(expected.velocity, SIZES).forEach((e, t) => assertSameFloats(velocity.tensors[t]!, storedAs(e, dtype), `v' tensor ${t}`));
      });
    }
  });

  describe('layout mismatches', () => {
    /** Runs the update with `bad` replacing one operand; expects TensorLayoutMismatch and an empty output dir. */
    async function expectMismatch(format: TensorFileFormat, files: TensorPsoInputs, outDir: string, pattern: RegExp): Promise<void> {
      await mkdir(outDir, { recursive: true });
      const suffix = format === ggufFormat ? '.gguf' : '.safetensors';
      await assert.rejects(psoUpdateTensors(format, files, WEIGHTS, STEP, { position: path.join(outDir, `x${suffix}`), velocity: path.join(outDir, `v${suffix}`) }), (error: unknown) => {
        assert.ok(error instanceof TensorLayoutMismatch, String(error));
        assert.match(error.message, pattern);
        return true;
      });
      assert.deepEqual(await readdir(outDir), [], 'no output (or temporary) files are left');
    }

    it('a GGUF global best with a different shape', async () => {
      const dir = await dirs.make();
      const files = {} as Record<Operand, string>;
      for (const [i, name] of OPERANDS.entries()) {
        files[name] = path.join(dir, `${name}.gguf`);
        await writeGgufAdapter(files[name], randomTensors(i + 1), 8, name === 'globalBest' ? 8 : PAIRS[1].nOut);
      }
      await expectMismatch(ggufFormat, files, path.join(dir, 'out'), /global best vs position: tensor 3 is blk\.1\.ffn_up\.weight\.lora_b F32 \[2, 8\], expected .* \[2, 10\]/);
    });

    it('a safetensors personal best with a renamed tensor, a velocity of another dtype, a global worst with a missing tensor', async () => {
      const dir = await dirs.make();
      const base = peftLayout('F32');
      const files = {} as Record<Operand, string>;
      for (const [i, name] of OPERANDS.entries()) {
        files[name] = path.join(dir, `${name}.safetensors`);
        await writeWith(safetensorsFormat, files[name], base, randomTensors(i + 1));
      }
      const renamed = path.join(dir, 'renamed.safetensors');
      await writeWith(safetensorsFormat, renamed, { ...base, tensors: base.tensors.map((t, i) => (i === 1 ? { ...t, name: 'base_model.model.layers.0.other.lora_B.weight' } : t)) }, randomTensors(9));
      await expectMismatch(safetensorsFormat, { ...files, personalBest: renamed }, path.join(dir, 'out1'), /personal best vs position: tensor 1 is base_model\.model\.layers\.0\.other/);

      const bf16 = path.join(dir, 'bf16.safetensors');
      await writeWith(safetensorsFormat, bf16, peftLayout('BF16'), randomTensors(9));
      await expectMismatch(safetensorsFormat, { ...files, velocity: bf16 }, path.join(dir, 'out2'), /velocity vs position: tensor 0 .* BF16/);

      const short = path.join(dir, 'short.safetensors');
      await writeWith(safetensorsFormat, short, { ...base, tensors: base.tensors.slice(0, 3) }, randomTensors(9).slice(0, 3));
      await expectMismatch(safetensorsFormat, { ...files, globalWorst: short }, path.join(dir, 'out3'), /global worst vs position: 3 tensors, expected 4/);
    });

    it('velocityTowards with a partner of another shape writes nothing', async () => {
      const dir = await dirs.make();
      const x = path.join(dir, 'x.gguf');
      const j = path.join(dir, 'j.gguf');
      await writeGgufAdapter(x, randomTensors(1));
      await writeGgufAdapter(j, randomTensors(2), 8, 8);
      const outDir = path.join(dir, 'out');
      await mkdir(outDir);
      await assert.rejects(velocityTowards(ggufFormat, x, j, path.join(outDir, 'v.gguf')), TensorLayoutMismatch);
      assert.deepEqual(await readdir(outDir), []);
    });

    it('a failure while creating the second output removes the first one (no partial files)', async () => {
      const dir = await dirs.make();
      const { files } = await fiveAdapters(SETUPS[1]!, dir);
      const outDir = path.join(dir, 'out');
      await mkdir(outDir);
      const blocker = path.join(dir, 'blocker');
      await writeFile(blocker, 'a file, not a directory');
      await assert.rejects(
        psoUpdateTensors(safetensorsFormat, files, WEIGHTS, STEP, { position: path.join(outDir, 'x.safetensors'), velocity: path.join(blocker, 'v.safetensors') }),
      );
      assert.deepEqual(await readdir(outDir), []);
    });
  });

  it('a GGUF output is a valid llama.cpp LoRA adapter with x’s alpha', async () => {
    const dir = await dirs.make();
    const { files } = await fiveAdapters(SETUPS[0]!, dir);
    const out = { position: path.join(dir, 'x.gguf'), velocity: path.join(dir, 'v.gguf') };
    await psoUpdateTensors(ggufFormat, files, WEIGHTS, STEP, out);
    const adapter = await readLoraAdapter(out.position);
    assert.equal(adapter.alpha, 16);
    assert.equal(adapter.rank, RANK);
    assert.deepEqual(
      adapter.tensors.map((t) => [t.name, t.aDims, t.bDims]),
      PAIRS.map((p) => [p.name, [p.nIn, RANK], [RANK, p.nOut]]),
    );
  });
});
