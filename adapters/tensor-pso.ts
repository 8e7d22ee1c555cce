/**
 * The PSO update of paper-notes §5.1 applied to adapters, tensor by tensor (`merge.py::lora_merge` over every
 * key of the adapter file: lora_A and lora_B factors separately, never their product). The arithmetic is the
 * role step's `psoStepInto`, bit for bit, run by the WebAssembly SIMD kernel of `pso-kernel.ts`: each tensor of
 * the five operands is read from its file straight into the kernel's memory and the two results are written
 * from there, so at most one tensor of each operand is in memory at a time and nothing is copied in between.
 */
import type { PsoWeights } from '../workflows/core/pso';
import { createPsoKernel } from './pso-kernel';
import { assertSameLayout, elementCount, type TensorFileFormat, type TensorLayout, type TensorSink, type TensorSource } from './tensor-file';

/** The five operands of a particle's step, as tensor files; `velocity: null` is v = 0 (after a restart). */
export interface TensorPsoInputs {
  position: string;
  velocity: string | null;
  personalBest: string;
  globalBest: string;
  globalWorst: string;
}

export interface WrittenFile {
  sha256: string;
  bytes: number;
}

async function openAll(format: TensorFileFormat, files: readonly string[]): Promise<TensorSource[]> {
  const sources: TensorSource[] = [];
  try {
    for (const file of files) sources.push(await format.open(file));
    return sources;
  } catch (error) {
    await Promise.all(sources.map((s) => s.close()));
    throw error;
  }
}

/** Runs `body` with sinks for `outputs` laid out like `layout`; commits all of them, or aborts all on failure. */
async function withSinks(format: TensorFileFormat, layout: TensorLayout, outputs: readonly string[], body: (sinks: TensorSink[]) => Promise<void>): Promise<WrittenFile[]> {
  const sinks: TensorSink[] = [];
  try {
    for (const out of outputs) sinks.push(await format.create(out, layout));
    await body(sinks);
    const written: WrittenFile[] = [];
    for (const sink of sinks) written.push(await sink.commit());
    return written;
  } catch (error) {
    await Promise.all(sinks.map((s) => s.abort()));
    throw error;
  }
}

/**
 * x' and v' of one particle: v' = w_v·v + w_p·(p − x) + w_g·(g − x) + w_w·(x − g_w), x' = x + λ·v', written to
 * `out.position` / `out.velocity` in x's layout (and dtype). Every operand must have x's layout.
 * `onTensor(i, n)` is called after each tensor (heartbeats).
 */
export async function psoUpdateTensors(
  format: TensorFileFormat,
  inputs: TensorPsoInputs,
  weights: PsoWeights,
  stepLength: number,
  out: { position: string; velocity: string },
  onTensor: (done: number, total: number) => void = () => undefined,
): Promise<{ position: WrittenFile; velocity: WrittenFile }> {
  const files = [inputs.position, inputs.personalBest, inputs.globalBest, inputs.globalWorst, ...(inputs.velocity === null ? [] : [inputs.velocity])];
  const sources = await openAll(format, files);
  try {
    const [x, p, g, gw, v] = sources as [TensorSource, TensorSource, TensorSource, TensorSource, TensorSource | undefined];
    const layout = x.layout;
    const names = ['personal best', 'global best', 'global worst', 'velocity'];
    [p, g, gw, v].forEach((s, i) => s && assertSameLayout(layout, s.layout, `${names[i]!} vs position`));
    // One kernel per call (concurrent updates must not share buffers), sized for the largest tensor.
    const kernel = createPsoKernel(Math.max(0, ...layout.tensors.map((t) => elementCount(t.shape))));
    const [position, velocity] = await withSinks(format, layout, [out.position, out.velocity], async ([xs, vs]) => {
      let done = 0;
      for (const t of layout.tensors) {
        const n = elementCount(t.shape);
        const b = kernel.buffers(n);
        if (!v) b.velocity.fill(0);
        await Promise.all([x.read(t.name, b.position), p.read(t.name, b.personalBest), g.read(t.name, b.globalBest), gw.read(t.name, b.globalWorst), v?.read(t.name, b.velocity)]);
        kernel.step(n, weights, stepLength);
        await xs!.write(b.outPosition);
        await vs!.write(b.outVelocity);
        onTensor(++done, layout.tensors.length);
      }
    });
    return { position: position!, velocity: velocity! };
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}

/** The starting velocity v_i = x_j − x_i (`search.py` L109-120), or zeros when `partner` is null.
 * `onTensor(i, n)` is called after each tensor (heartbeats). */
export async function velocityTowards(
  format: TensorFileFormat,
  position: string,
  partner: string | null,
  out: string,
  onTensor: (done: number, total: number) => void = () => undefined,
): Promise<WrittenFile> {
  const sources = await openAll(format, partner === null ? [position] : [position, partner]);
  try {
    const [x, j] = sources as [TensorSource, TensorSource | undefined];
    if (j) assertSameLayout(x.layout, j.layout, 'partner vs position');
    const [written] = await withSinks(format, x.layout, [out], async ([sink]) => {
      let done = 0;
      for (const t of x.layout.tensors) {
        const xt = await x.read(t.name);
        if (j) {
          const jt = await j.read(t.name);
          for (let k = 0; k < xt.length; k++) xt[k] = jt[k]! - xt[k]!;
        } else {
          xt.fill(0);
        }
        await sink!.write(xt);
        onTensor(++done, x.layout.tensors.length);
      }
    });
    return written!;
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}
