/**
 * GGUF writer for F32 tensors and metadata of every type. The file is streamed to a temporary file in the
 * target directory, fsynced and renamed into place, so readers never see a partial file; the sha256 is
 * computed from the bytes as they are written. Layout: `gguf-format.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rm, rename } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import {
  alignUp,
  GGML_TYPE_F32,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  GGUF_MAX_TENSOR_NAME_BYTES,
  GGUF_VALUE_TYPES,
  GGUF_VERSION,
  GgufError,
  type GgufArray,
  type GgufValue,
  type GgufValueTypeName,
} from './gguf-format';

/** A tensor to write: `dims` in ggml order (`ne[0]` first), `data` row-major over them. */
export interface GgufTensorToWrite {
  name: string;
  dims: readonly number[];
  data: Float32Array;
}

export interface GgufWriteResult {
  /** Hex sha256 of the whole file. */
  sha256: string;
  bytes: number;
}

const INT_RANGES: Partial<Record<GgufValueTypeName, readonly [number, number]>> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** Accumulates the header's bytes. */
class HeaderBuilder {
  private readonly parts: Buffer[] = [];
  length = 0;

  private push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }

  u32(v: number): void {
    this.fixed(4, (b) => b.writeUInt32LE(v));
  }

  u64(v: number | bigint): void {
    this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }

  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }

  /** Appends `size` bytes filled by `fill`. */
  private fixed(size: number, fill: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    fill(b);
    this.push(b);
  }

  /** The value's payload (no type code), checked against its declared type. */
  scalar(type: Exclude<GgufValueTypeName, 'array'>, v: number | bigint | boolean | string, where: string): void {
    const invalid = (): GgufError =>
      new GgufError(`${where}: ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)} is not a valid ${type}`);
    const int = (): number => {
      const [lo, hi] = INT_RANGES[type] ?? [0, -1];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw invalid();
      return v;
    };
    const big = (lo: bigint, hi: bigint): bigint => {
      if (typeof v !== 'bigint' || v < lo || v > hi) throw invalid();
      return v;
    };
    const float = (): number => {
      if (typeof v !== 'number') throw invalid();
      return v;
    };
    switch (type) {
      case 'uint8':
        return this.fixed(1, (b) => b.writeUInt8(int()));
      case 'int8':
        return this.fixed(1, (b) => b.writeInt8(int()));
      case 'uint16':
        return this.fixed(2, (b) => b.writeUInt16LE(int()));
      case 'int16':
        return this.fixed(2, (b) => b.writeInt16LE(int()));
      case 'uint32':
        return this.fixed(4, (b) => b.writeUInt32LE(int()));
      case 'int32':
        return this.fixed(4, (b) => b.writeInt32LE(int()));
      case 'float32':
        return this.fixed(4, (b) => b.writeFloatLE(float()));
      case 'float64':
        return this.fixed(8, (b) => b.writeDoubleLE(float()));
      case 'uint64':
        return this.fixed(8, (b) => b.writeBigUInt64LE(big(0n, U64_MAX)));
      case 'int64':
        return this.fixed(8, (b) => b.writeBigInt64LE(big(I64_MIN, I64_MAX)));
      case 'bool':
        if (typeof v !== 'boolean') throw invalid();
        return this.fixed(1, (b) => b.writeUInt8(v ? 1 : 0));
      case 'string':
        if (typeof v !== 'string') throw invalid();
        return this.string(v);
    }
  }

  array(a: GgufArray, where: string): void {
    this.u32(GGUF_VALUE_TYPES[a.itemType]);
    this.u64(a.value.length);
    if (a.itemType === 'array') {
      for (const item of a.value) this.array(item, where);
    } else {
      for (const item of a.value) this.scalar(a.itemType, item, where);
    }
  }

  value(v: GgufValue, where: string): void {
    this.u32(GGUF_VALUE_TYPES[v.type]);
    if (v.type === 'array') this.array(v, where);
    else this.scalar(v.type, v.value, where);
  }

  padTo(alignment: number): void {
    const pad = alignUp(this.length, alignment) - this.length;
    if (pad > 0) this.push(Buffer.alloc(pad));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

function alignmentOf(metadata: ReadonlyMap<string, GgufValue>): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== 'uint32' || v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw new GgufError('general.alignment must be a power-of-two uint32');
  }
  return v.value;
}

const elements = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

function checkTensorHeader(t: GgufTensorHeader, seen: Set<string>): void {
  const nameBytes = Buffer.byteLength(t.name, 'utf8');
  if (nameBytes === 0 || nameBytes > GGUF_MAX_TENSOR_NAME_BYTES) {
    throw new GgufError(`tensor name "${t.name}" must have 1..${GGUF_MAX_TENSOR_NAME_BYTES} bytes`);
  }
  if (seen.has(t.name)) throw new GgufError(`duplicate tensor "${t.name}"`);
  seen.add(t.name);
  if (t.dims.length < 1 || t.dims.length > GGUF_MAX_DIMS || t.dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new GgufError(`tensor "${t.name}": dims [${t.dims.join(', ')}] must be 1..${GGUF_MAX_DIMS} positive integers`);
  }
}

/** Little-endian bytes of a Float32Array (a view on little-endian hosts, a swapped copy otherwise). */
function f32Bytes(data: Float32Array): Buffer {
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return endianness() === 'LE' ? view : Buffer.from(view).swap32();
}

/** A tensor's header entry: name and dims in ggml order. */
export interface GgufTensorHeader {
  name: string;
  dims: readonly number[];
}

/** A GGUF file being written tensor by tensor (see `createGgufWriter`). */
export interface GgufStreamWriter {
  /** Writes the data of the next tensor of the header, in order. */
  write(data: Float32Array): Promise<void>;
  /** fsync + atomic rename; every tensor must have been written. */
  commit(): Promise<GgufWriteResult>;
  /** Removes the partial temp file. */
  abort(): Promise<void>;
}

/**
 * Starts writing a GGUF v3 file of F32 tensors: the header (metadata in iteration order, tensor infos with
 * aligned offsets) goes out at once; tensor data follows one `write` at a time, each padded to the alignment
 * (`general.alignment`, uint32, default 32), as llama.cpp's and gguf-py's writers do. Nothing is visible at
 * `filePath` before `commit`.
 */
export async function createGgufWriter(filePath: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorHeader[]): Promise<GgufStreamWriter> {
  const alignment = alignmentOf(metadata);
  const seen = new Set<string>();
  for (const t of tensors) checkTensorHeader(t, seen);

  const header = new HeaderBuilder();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(tensors.length);
  header.u64(metadata.size);
  for (const [key, value] of metadata) {
    header.string(key);
    header.value(value, `metadata "${key}"`);
  }
  let offset = 0;
  for (const t of tensors) {
    header.string(t.name);
    header.u32(t.dims.length);
    for (const d of t.dims) header.u64(d);
    header.u32(GGML_TYPE_F32);
    header.u64(offset);
    offset += alignUp(4 * elements(t.dims), alignment);
  }
  header.padTo(alignment);

  await mkdir(path.dirname(filePath), { recursive: true });
  const tmp = `${filePath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const hash = createHash('sha256');
  let bytes = 0;
  let next = 0;
  const fh = await open(tmp, 'wx');
  let closed = false;
  const put = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    bytes += chunk.length;
    for (let done = 0; done < chunk.length; ) done += (await fh.write(chunk, done, chunk.length - done, null)).bytesWritten;
  };
  const abort = async (): Promise<void> => {
    if (!closed) await fh.close().catch(() => undefined);
    closed = true;
    await rm(tmp, { force: true });
  };
  try {
    await put(header.toBuffer());
  } catch (error) {
    await abort();
    throw error;
  }
  return {
    async write(data) {
      const t = tensors[next];
      if (t === undefined) throw new GgufError(`all ${tensors.length} tensors are written already`);
      if (data.length !== elements(t.dims)) throw new GgufError(`tensor "${t.name}": ${data.length} values for dims [${t.dims.join(', ')}]`);
      await put(f32Bytes(data));
      const pad = alignUp(data.byteLength, alignment) - data.byteLength;
      if (pad > 0) await put(Buffer.alloc(pad));
      next++;
    },
    async commit() {
      if (next !== tensors.length) throw new GgufError(`commit after ${next} of ${tensors.length} tensors`);
      await fh.sync();
      await fh.close();
      closed = true;
      await rename(tmp, filePath);
      return { sha256: hash.digest('hex'), bytes };
    },
    abort,
  };
}

/** Writes a GGUF v3 file of F32 tensors atomically (`createGgufWriter` with all data at hand). */
export async function writeGguf(
  filePath: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorToWrite[],
): Promise<GgufWriteResult> {
  for (const t of tensors) {
    if (t.data.length !== elements(t.dims)) throw new GgufError(`tensor "${t.name}": ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  }
  const writer = await createGgufWriter(filePath, metadata, tensors);
  try {
    for (const t of tensors) await writer.write(t.data);
    return await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
