/**
 * Tensor files read and written one tensor at a time: the common surface of LoRA adapter formats (GGUF for the
 * embedded llama.cpp server, safetensors for PEFT / vLLM). The weight step streams every tensor of five inputs
 * (x, v, p, g, g_w) through the PSO update and into two outputs (x', v') without holding whole adapters.
 *
 * Values are always handed out and taken in as Float32Array; a file's own dtype (F32, F16, BF16) is decoded on
 * read and encoded on write, so a file written "like" another keeps its dtype.
 */

/** Element types an adapter tensor may be stored in. */
export type TensorDType = 'F32' | 'F16' | 'BF16';

/** One tensor's header entry. `shape` is as the format stores it (row-major for safetensors, ggml `ne` order
 * for GGUF); only its product matters to element-wise code. */
export interface TensorInfo {
  name: string;
  dtype: TensorDType;
  shape: readonly number[];
}

/** The header of a tensor file: what a file written "like" it must reproduce. */
export interface TensorLayout {
  /** In file order. */
  tensors: readonly TensorInfo[];
  /** Format-specific metadata carried over verbatim (safetensors `__metadata__`, GGUF key/values). */
  metadata: unknown;
}

/** An open tensor file. */
export interface TensorSource {
  readonly layout: TensorLayout;
  /**
   * The tensor's values decoded to float32: into `out` when given (which is returned; its length must equal the
   * tensor's element count, else this throws), otherwise into a fresh array. F32 data is read from the file
   * straight into `out`'s memory, e.g. a view on the PSO kernel's wasm memory. Throws on an unknown name.
   */
  read(name: string, out?: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

/** A tensor file being written: tensors in layout order, then `commit` (atomic rename) or `abort`. */
export interface TensorSink {
  /**
   * Writes the next tensor of the layout (values are encoded to the tensor's dtype). F32 values go to the file
   * from `values`' own memory (no copy on little-endian hosts), so `values` must stay unchanged until this settles.
   */
  write(values: Float32Array): Promise<void>;
  /** Completes the file (fsync + atomic rename) and returns the sha256 hex and byte size of its content. */
  commit(): Promise<{ sha256: string; bytes: number }>;
  /** Removes the partial file. Safe to call after a failed write. */
  abort(): Promise<void>;
}

/** A tensor file format. */
export interface TensorFileFormat {
  readonly name: string;
  open(file: string): Promise<TensorSource>;
  /** Starts writing `file` with exactly `layout` (names, dtypes, shapes, metadata). */
  create(file: string, layout: TensorLayout): Promise<TensorSink>;
}

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws unless two layouts have the same tensors (names, dtypes, shapes) in the same order. */
export function assertSameLayout(expected: TensorLayout, actual: TensorLayout, what: string): void {
  if (expected.tensors.length !== actual.tensors.length) {
    throw new TensorLayoutMismatch(`${what}: ${actual.tensors.length} tensors, expected ${expected.tensors.length}`);
  }
  expected.tensors.forEach((e, i) => {
    const a = actual.tensors[i]!;
    if (a.name !== e.name || a.dtype !== e.dtype || a.shape.join('x') !== e.shape.join('x')) {
      throw new TensorLayoutMismatch(`${what}: tensor ${i} is ${a.name} ${a.dtype} [${a.shape.join(', ')}], expected ${e.name} ${e.dtype} [${e.shape.join(', ')}]`);
    }
  });
}

/** Two adapters cannot be combined element-wise (different tensors, dtypes or shapes). */
export class TensorLayoutMismatch extends Error {
  override readonly name = 'TensorLayoutMismatch';
}
