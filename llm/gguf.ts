/**
 * GGUF reader: the header, every metadata value (all types, arrays included) and the tensor table, without
 * touching the weights; plus reading one F32 tensor's data. The writer lives in `gguf-writer.ts`; both are
 * re-exported here so callers import one module. Format summary: `gguf-format.ts`.
 */
import { open, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import {
  alignUp,
  fixedValueSize,
  GGML_TYPE_F32,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  GgufError,
  tensorByteSize,
  valueTypeName,
  type GgufArray,
  type GgufMetadata,
  type GgufValue,
  type GgufValueTypeName,
} from './gguf-format';

export * from './gguf-format';
export { createGgufWriter, writeGguf, type GgufStreamWriter, type GgufTensorHeader, type GgufTensorToWrite, type GgufWriteResult } from './gguf-writer';

/** One entry of the tensor table. */
export interface GgufTensorInfo {
  name: string;
  /** ggml `ne`, fastest-varying first: a weight applied as `W·x` has dims `[n_in, n_out]`. */
  dims: number[];
  /** ggml type code (`GGML_TYPES`). */
  type: number;
  /** ggml type name, or `type<code>` when unknown. */
  typeName: string;
  /** Offset of the data relative to the start of the data section. */
  offset: number;
  /** Bytes of data, when the type is known. */
  byteSize: number | undefined;
}

/** Everything in a GGUF file except the tensor data. */
export interface GgufInfo {
  version: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset of the data section. */
  dataOffset: number;
  fileSize: number;
}

/** Thrown by the cursor when the bytes read so far end before the header does (the file has more). */
class NeedMoreBytes extends Error {
  constructor(readonly needed: number) {
    super(`need ${needed} bytes`);
  }
}

/** Sequential little-endian reads over a prefix of a file of known size. */
class Cursor {
  pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fileSize: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.fileSize - this.pos;
  }

  /** Reserves `n` bytes and returns where they start. */
  take(n: number): number {
    if (this.pos + n > this.fileSize) {
      throw new GgufError(`truncated: ${n} bytes needed at offset ${this.pos}, but the file has ${this.fileSize}`);
    }
    if (this.pos + n > this.bytes.length) throw new NeedMoreBytes(this.pos + n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  u64(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }

  /** A u64 count, size or offset, which must fit a JS number exactly. */
  size(what: string): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${what} ${v} is too large`);
    return Number(v);
  }

  string(): string {
    const length = this.size('string length');
    const at = this.take(length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, length).toString('utf8');
  }

  /** A fixed-size scalar of a numeric or bool type. */
  scalar(type: Exclude<GgufValueTypeName, 'string' | 'array'>): number | bigint | boolean {
    const v = this.view;
    switch (type) {
      case 'uint8':
        return v.getUint8(this.take(1));
      case 'int8':
        return v.getInt8(this.take(1));
      case 'bool':
        return v.getUint8(this.take(1)) !== 0;
      case 'uint16':
        return v.getUint16(this.take(2), true);
      case 'int16':
        return v.getInt16(this.take(2), true);
      case 'uint32':
        return v.getUint32(this.take(4), true);
      case 'int32':
        return v.getInt32(this.take(4), true);
      case 'float32':
        return v.getFloat32(this.take(4), true);
      case 'float64':
        return v.getFloat64(this.take(8), true);
      case 'uint64':
        return v.getBigUint64(this.take(8), true);
      case 'int64':
        return v.getBigInt64(this.take(8), true);
    }
  }
}

function readTypeCode(c: Cursor, key: string): GgufValueTypeName {
  const code = c.u32();
  const type = valueTypeName(code);
  if (type === undefined) throw new GgufError(`metadata "${key}": unknown value type ${code}`);
  return type;
}

function readArray(c: Cursor, key: string): GgufArray {
  const itemType = readTypeCode(c, key);
  const count = c.size(`metadata "${key}": array length`);
  // Every item takes at least its fixed size (8 for a string's length, 12 for a nested array's header).
  const minItem = fixedValueSize(itemType) ?? (itemType === 'string' ? 8 : 12);
  if (count * minItem > c.remaining) throw new GgufError(`metadata "${key}": array of ${count} items overruns the file`);
  switch (itemType) {
    case 'string':
      return { type: 'array', itemType, value: Array.from({ length: count }, () => c.string()) };
    case 'array':
      return { type: 'array', itemType, value: Array.from({ length: count }, () => readArray(c, key)) };
    case 'bool':
      return { type: 'array', itemType, value: Array.from({ length: count }, () => c.scalar(itemType) as boolean) };
    case 'uint64':
    case 'int64':
      return { type: 'array', itemType, value: Array.from({ length: count }, () => c.scalar(itemType) as bigint) };
    default:
      return { type: 'array', itemType, value: Array.from({ length: count }, () => c.scalar(itemType) as number) };
  }
}

function readValue(c: Cursor, key: string): GgufValue {
  const type = readTypeCode(c, key);
  switch (type) {
    case 'string':
      return { type, value: c.string() };
    case 'array':
      return readArray(c, key);
    case 'bool':
      return { type, value: c.scalar(type) as boolean };
    case 'uint64':
    case 'int64':
      return { type, value: c.scalar(type) as bigint };
    default:
      return { type, value: c.scalar(type) as number };
  }
}

function readAlignment(metadata: GgufMetadata): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== 'uint32' || v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw new GgufError(`general.alignment must be a power-of-two uint32, got ${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x))}`);
  }
  return v.value;
}

function readTensorInfo(c: Cursor): GgufTensorInfo {
  const name = c.string();
  const nDims = c.u32();
  if (nDims < 1 || nDims > GGUF_MAX_DIMS) throw new GgufError(`tensor "${name}": ${nDims} dimensions (1..${GGUF_MAX_DIMS} allowed)`);
  const dims = Array.from({ length: nDims }, () => c.size(`tensor "${name}": dimension`));
  const type = c.u32();
  const offset = c.size(`tensor "${name}": offset`);
  return { name, dims, type, typeName: GGML_TYPES.get(type)?.name ?? `type${type}`, offset, byteSize: tensorByteSize(type, dims) };
}

/**
 * Parses a GGUF header from the first bytes of a file of `fileSize` bytes. Throws `GgufError` on a
 * malformed file; throws an internal `NeedMoreBytes` when `bytes` ends before the header does.
 */
function parseHeader(bytes: Uint8Array, fileSize: number): GgufInfo {
  const c = new Cursor(bytes, fileSize);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) throw new GgufError(`not a GGUF file (magic 0x${magic.toString(16)})`);
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new GgufError(`unsupported GGUF version ${version} (2 and 3 are supported)`);
  const tensorCount = c.size('tensor count');
  const kvCount = c.size('metadata count');
  if (tensorCount > c.remaining || kvCount > c.remaining) throw new GgufError('tensor or metadata count overruns the file');

  const metadata: GgufMetadata = new Map();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string();
    if (metadata.has(key)) throw new GgufError(`duplicate metadata key "${key}"`);
    metadata.set(key, readValue(c, key));
  }
  const alignment = readAlignment(metadata);

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const t = readTensorInfo(c);
    if (names.has(t.name)) throw new GgufError(`duplicate tensor "${t.name}"`);
    if (t.offset % alignment !== 0) throw new GgufError(`tensor "${t.name}": offset ${t.offset} is not a multiple of ${alignment}`);
    names.add(t.name);
    tensors.push(t);
  }
  const dataOffset = alignUp(c.pos, alignment);
  for (const t of tensors) {
    if (t.byteSize !== undefined && dataOffset + t.offset + t.byteSize > fileSize) {
      throw new GgufError(`tensor "${t.name}": data ends past the end of the file`);
    }
  }
  return { version, metadata, tensors, alignment, dataOffset, fileSize };
}

/** Parses the header of a complete GGUF file held in memory. */
export function parseGgufHeader(bytes: Uint8Array): GgufInfo {
  return parseHeader(bytes, bytes.length);
}

/**
 * Reads the header, metadata and tensor table of a GGUF file, reading only as much of the file as they take
 * (a few MiB for a model with its tokenizer; never the weights).
 */
export async function readGgufInfo(path: string): Promise<GgufInfo> {
  const fileSize = (await stat(path)).size;
  const fh = await open(path, 'r');
  try {
    let length = Math.min(fileSize, 1 << 20);
    for (;;) {
      const bytes = Buffer.alloc(length);
      const { bytesRead } = await fh.read(bytes, 0, length, 0);
      if (bytesRead !== length) throw new GgufError(`${path}: short read (${bytesRead} of ${length} bytes)`);
      try {
        return parseHeader(bytes, fileSize);
      } catch (error) {
        if (!(error instanceof NeedMoreBytes)) throw error;
        length = Math.min(fileSize, Math.max(error.needed, 2 * length));
      }
    }
  } finally {
    await fh.close();
  }
}

/**
 * Reads the data of one F32 tensor of `info` (as returned by `readGgufInfo(path)`): into `out` when given (its
 * length must be the tensor's element count; the file is read straight into its memory), else a fresh array.
 */
export async function readTensorF32(path: string, info: GgufInfo, tensor: GgufTensorInfo, out?: Float32Array): Promise<Float32Array> {
  if (tensor.type !== GGML_TYPE_F32) throw new GgufError(`tensor "${tensor.name}" is ${tensor.typeName}, not F32`);
  const count = tensor.dims.reduce((p, d) => p * d, 1);
  if (out !== undefined && out.length !== count) throw new GgufError(`tensor "${tensor.name}" has ${count} elements, the output array ${out.length}`);
  const values = out ?? new Float32Array(count);
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const fh = await open(path, 'r');
  try {
    for (let done = 0; done < bytes.length; ) {
      const { bytesRead } = await fh.read(bytes, done, bytes.length - done, info.dataOffset + tensor.offset + done);
      if (bytesRead === 0) throw new GgufError(`tensor "${tensor.name}": short read`);
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
  if (endianness() === 'BE') bytes.swap32();
  return values;
}

/** A string metadata value, or undefined when absent; throws when present with another type. */
export function metaString(metadata: GgufMetadata, key: string): string | undefined {
  const v = metadata.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'string') throw new GgufError(`metadata "${key}" is ${v.type}, expected string`);
  return v.value;
}

/** A numeric (non-64-bit-integer) metadata value, or undefined when absent; throws on another type. */
export function metaNumber(metadata: GgufMetadata, key: string): number | undefined {
  const v = metadata.get(key);
  if (v === undefined) return undefined;
  if (typeof v.value !== 'number') throw new GgufError(`metadata "${key}" is ${v.type}, expected a number`);
  return v.value;
}
