/**
 * safetensors files (the PEFT / vLLM adapter weight format), read and written one tensor at a time.
 *
 * Layout:
 *   - 8 bytes: N, the header length, an unsigned 64-bit little-endian integer;
 *   - N bytes: the header, UTF-8 JSON (possibly padded with trailing spaces):
 *       { "__metadata__": { "<key>": "<string>", ... },            (optional)
 *         "<tensor name>": { "dtype": "F32" | "F16" | "BF16" | ..., "shape": [d0, d1, ...],
 *                            "data_offsets": [begin, end] }, ... }
 *   - the data buffer: each tensor's little-endian row-major elements at [begin, end), offsets relative to the
 *     first byte after the header; end - begin = product(shape) × dtype size.
 *
 * Reading takes the header once and each tensor on demand by file position. Writing puts the whole header first
 * (tensors contiguous in layout order, header padded with spaces so the data starts on a multiple of 8, as the
 * reference implementation does) into a temporary file in the target directory, hashing every byte; `commit`
 * fsyncs and renames it into place, so readers never see a partial file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import { decodeBF16, decodeF16, DTYPE_BYTES, encodeBF16, encodeF16 } from './dtype';
import {
  elementCount,
  type TensorDType,
  type TensorFileFormat,
  type TensorInfo,
  type TensorLayout,
  type TensorSink,
  type TensorSource,
} from './tensor-file';

/** A malformed or unsupported safetensors file, or a misuse of a writer. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

/** The reference implementation's limit on the header length. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const SUPPORTED_DTYPES: readonly TensorDType[] = ['F32', 'F16', 'BF16'];
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** A tensor's header entry with its byte range, relative to the data buffer. */
interface Entry extends TensorInfo {
  begin: number;
  end: number;
}

export const safetensorsFormat: TensorFileFormat = {
  name: 'safetensors',
  open: openSafetensors,
  create: createSafetensors,
};

// ---------------------------------------------------------------------------------------------------- reading

async function openSafetensors(file: string): Promise<TensorSource> {
  const fh = await open(file, 'r');
  try {
    const { dataStart, entries, metadata } = await readHeader(fh, file);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const tensors = [...entries].sort((a, b) => a.begin - b.begin); // stable: ties keep header order
    return {
      layout: { tensors: tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })), metadata },
      async read(name, out) {
        const entry = byName.get(name);
        if (entry === undefined) throw new SafetensorsError(`${file}: no tensor "${name}"`);
        return readTensor(fh, file, dataStart, entry, out);
      },
      close: () => fh.close(),
    };
  } catch (error) {
    await fh.close().catch(() => undefined);
    throw error;
  }
}

async function readHeader(fh: FileHandle, file: string): Promise<{ dataStart: number; entries: Entry[]; metadata: Record<string, string> | undefined }> {
  const fail = (why: string): SafetensorsError => new SafetensorsError(`${file}: ${why}`);
  const { size } = await fh.stat();
  if (size < 8) throw fail(`${size} bytes, too short for the 8-byte header length`);
  const headerLength = (await readExactly(fh, file, new Uint8Array(8), 0)).readBigUInt64LE(0);
  if (headerLength > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) throw fail(`header length ${headerLength} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  const dataStart = 8 + Number(headerLength);
  if (dataStart > size) throw fail(`header length ${headerLength} runs beyond the end of the ${size}-byte file (truncated?)`);

  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(await readExactly(fh, file, new Uint8Array(dataStart - 8), 8));
    header = JSON.parse(text);
  } catch (error) {
    throw fail(`the header is not valid UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isRecord(header)) throw fail('the header is not a JSON object');

  let metadata: Record<string, string> | undefined;
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = checkMetadata(value, (why) => fail(`${METADATA_KEY}: ${why}`));
    else entries.push(checkEntry(name, value, size - dataStart, (why) => fail(`tensor "${name}": ${why}`)));
  }
  return { dataStart, entries, metadata };
}

function checkEntry(name: string, value: unknown, dataBytes: number, fail: (why: string) => SafetensorsError): Entry {
  if (!isRecord(value)) throw fail('the header entry is not an object');
  const { dtype, shape, data_offsets: offsets } = value;
  if (!SUPPORTED_DTYPES.includes(dtype as TensorDType)) {
    throw fail(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${SUPPORTED_DTYPES.join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isSize)) throw fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
    throw fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  const info: TensorInfo = { name, dtype: dtype as TensorDType, shape };
  const expected = byteSize(info);
  if (end < begin || end - begin !== expected) {
    throw fail(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${info.dtype} [${shape.join(', ')}] needs ${expected}`);
  }
  if (end > dataBytes) throw fail(`data_offsets [${begin}, ${end}] run beyond the ${dataBytes}-byte data buffer (truncated?)`);
  return { ...info, begin, end };
}

function checkMetadata(value: unknown, fail: (why: string) => SafetensorsError): Record<string, string> {
  if (!isRecord(value)) throw fail(`${JSON.stringify(value)} is not an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw fail(`"${key}" is ${JSON.stringify(v)}, not a string`);
  }
  return { ...(value as Record<string, string>) };
}

/** The tensor's values into `out` (F32: the file's bytes land in `out`'s memory directly) or a fresh array. */
async function readTensor(fh: FileHandle, file: string, dataStart: number, entry: Entry, out?: Float32Array): Promise<Float32Array> {
  const count = elementCount(entry.shape);
  if (out !== undefined && out.length !== count) {
    throw new SafetensorsError(`${file}: tensor "${entry.name}" has ${count} elements, the output array ${out.length}`);
  }
  const values = out ?? new Float32Array(count);
  const position = dataStart + entry.begin;
  if (entry.dtype === 'F32') {
    const bytes = await readExactly(fh, file, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), position);
    if (!LITTLE_ENDIAN_HOST) bytes.swap32();
    return values;
  }
  const bits = new Uint16Array(count);
  const bytes = await readExactly(fh, file, new Uint8Array(bits.buffer), position);
  if (!LITTLE_ENDIAN_HOST) bytes.swap16();
  return entry.dtype === 'F16' ? decodeF16(bits, values) : decodeBF16(bits, values);
}

/** Fills `into` from the file at `position`; a Buffer view of it. */
async function readExactly(fh: FileHandle, file: string, into: Uint8Array, position: number): Promise<Buffer> {
  for (let done = 0; done < into.length; ) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError(`${file}: unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
  return Buffer.from(into.buffer, into.byteOffset, into.length);
}

// ---------------------------------------------------------------------------------------------------- writing

async function createSafetensors(file: string, layout: TensorLayout): Promise<TensorSink> {
  const header = encodeHeader(layout, file);
  const tensors = layout.tensors;
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx');
  const hash = createHash('sha256');
  let bytes = 0;
  let next = 0; // index of the next tensor to write
  let busy = false;
  let state: 'open' | 'failed' | 'done' = 'open';

  const append = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    bytes += chunk.length;
    for (let done = 0; done < chunk.length; ) done += (await fh.write(chunk, done, chunk.length - done, null)).bytesWritten;
  };
  const discard = async (): Promise<void> => {
    state = 'done';
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
  };
  /** Runs one operation on the open file; any I/O failure leaves the sink failed (only `abort` remains). */
  const exclusive = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    if (state !== 'open') throw new SafetensorsError(`${file}: ${what}() after ${state === 'failed' ? 'a failed write' : 'commit() or abort()'}`);
    if (busy) throw new SafetensorsError(`${file}: ${what}() while another write or commit is in progress (await each call)`);
    busy = true;
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof SafetensorsError)) state = 'failed';
      throw error;
    } finally {
      busy = false;
    }
  };

  try {
    await append(header);
  } catch (error) {
    await discard();
    throw error;
  }

  return {
    write: (values) =>
      exclusive('write', async () => {
        const info = tensors[next];
        if (info === undefined) throw new SafetensorsError(`${file}: write() called ${next + 1} times, the layout has ${tensors.length} tensors`);
        const count = elementCount(info.shape);
        if (values.length !== count) {
          throw new SafetensorsError(`${file}: tensor "${info.name}" [${info.shape.join(', ')}] has ${count} elements, write() got ${values.length}`);
        }
        next++;
        await append(encodeTensor(values, info.dtype));
      }),
    commit: () =>
      exclusive('commit', async () => {
        if (next < tensors.length) throw new SafetensorsError(`${file}: commit() after ${next} of ${tensors.length} tensors (next: "${tensors[next]!.name}")`);
        try {
          await fh.sync();
          await fh.close();
          await rename(tmp, file);
        } catch (error) {
          await discard();
          throw error;
        }
        state = 'done';
        return { sha256: hash.digest('hex'), bytes };
      }),
    async abort() {
      if (state !== 'done') await discard();
    },
  };
}

/** The length prefix and JSON header of `layout`, checked, padded with spaces so its length is a multiple of 8. */
function encodeHeader(layout: TensorLayout, file: string): Buffer {
  const fail = (why: string): SafetensorsError => new SafetensorsError(`${file}: cannot write ${why}`);
  const header = Object.create(null) as Record<string, unknown>; // no prototype: a tensor may be named "__proto__"
  if (layout.metadata !== undefined) header[METADATA_KEY] = checkMetadata(layout.metadata, (why) => fail(`metadata (${METADATA_KEY}): ${why}`));
  let offset = 0;
  for (const t of layout.tensors) {
    if (t.name === '' || t.name === METADATA_KEY || Object.hasOwn(header, t.name)) throw fail(`tensor name ${JSON.stringify(t.name)} (empty, reserved or repeated)`);
    if (!SUPPORTED_DTYPES.includes(t.dtype)) throw fail(`tensor "${t.name}": unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${SUPPORTED_DTYPES.join(', ')})`);
    if (!t.shape.every((d) => isSize(d))) throw fail(`tensor "${t.name}": shape [${t.shape.join(', ')}] is not a list of non-negative integers`);
    const size = byteSize(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

/** `values` as the little-endian bytes of `dtype` (a view of `values` itself for F32 on little-endian hosts). */
function encodeTensor(values: Float32Array, dtype: TensorDType): Buffer {
  if (dtype === 'F32') {
    const view = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    return LITTLE_ENDIAN_HOST ? view : Buffer.from(view).swap32();
  }
  const bits = dtype === 'F16' ? encodeF16(values) : encodeBF16(values);
  const bytes = Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength);
  return LITTLE_ENDIAN_HOST ? bytes : bytes.swap16();
}

// ---------------------------------------------------------------------------------------------------- helpers

function byteSize(t: TensorInfo): number {
  return elementCount(t.shape) * DTYPE_BYTES[t.dtype];
}

function isSize(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
