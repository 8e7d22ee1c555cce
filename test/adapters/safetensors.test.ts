import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeBF16, decodeF16, encodeBF16, encodeF16 } from '../../adapters/dtype';
import { SafetensorsError, safetensorsFormat } from '../../adapters/safetensors';
import type { TensorDType, TensorLayout } from '../../adapters/tensor-file';
import { tmpDirs } from '../activities/tmp-dir';

/** A safetensors file built byte by byte from the spec: u64 LE header length, header text, data. */
function rawFile(header: string | Buffer | object, data: Buffer = Buffer.alloc(0), headerLength?: bigint): Buffer {
  const text = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(text.length));
  return Buffer.concat([prefix, text, data]);
}

/** Little-endian bytes of 16-bit patterns / float32 values, written with Buffer's explicit-endian methods. */
function u16le(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
}
function f32le(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

/** What a value becomes once stored as `dtype`. */
function stored(values: Float32Array, dtype: TensorDType): Float32Array {
  if (dtype === 'F16') return decodeF16(encodeF16(values));
  if (dtype === 'BF16') return decodeBF16(encodeBF16(values));
  return values;
}

function randomValues(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32 - 0.5) * 8;
  });
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('safetensors', () => {
  const dirs = tmpDirs('safetensors');
  after(() => dirs.cleanup());

  async function writeLayout(file: string, layout: TensorLayout, values: Float32Array[]): Promise<{ sha256: string; bytes: number }> {
    const sink = await safetensorsFormat.create(file, layout);
    for (const v of values) await sink.write(v);
    return sink.commit();
  }

  /** Expects `file` to be rejected on open with a SafetensorsError whose message matches every pattern. */
  async function rejects(file: string, ...patterns: RegExp[]): Promise<void> {
    await assert.rejects(safetensorsFormat.open(file), (error: unknown) => {
      assert.ok(error instanceof SafetensorsError, String(error));
      assert.ok(error.message.includes(file), error.message);
      for (const p of patterns) assert.match(error.message, p);
      return true;
    });
  }

  const layout: TensorLayout = {
    tensors: [
      { name: 'model.layers.0.q_proj.lora_A.weight', dtype: 'F32', shape: [3, 5] },
      { name: 'model.layers.0.q_proj.lora_B.weight', dtype: 'F16', shape: [7, 3] },
      { name: 'model.layers.1.v_proj.lora_A.weight', dtype: 'BF16', shape: [2, 2, 3] },
      { name: 'scalar', dtype: 'F16', shape: [] },
      { name: 'empty', dtype: 'BF16', shape: [0, 4] },
      { name: '__proto__', dtype: 'F32', shape: [1] },
    ],
    metadata: { format: 'pt', note: 'héllo ✓' },
  };
  const values = layout.tensors.map((t, i) => randomValues(t.shape.reduce((a, b) => a * b, 1), i + 1));

  it('round-trips F32, F16 and BF16 tensors with their names, shapes, dtypes, metadata and (rounded) values', async () => {
    const file = path.join(await dirs.make(), 'adapter_model.safetensors');
    await writeLayout(file, layout, values);
    const source = await safetensorsFormat.open(file);
    try {
      assert.deepEqual(source.layout, layout);
      // Read out of order: each tensor is read on demand.
      for (const i of [2, 0, 5, 1, 4, 3]) {
        const t = layout.tensors[i]!;
        assert.deepEqual(await source.read(t.name), stored(values[i]!, t.dtype), t.name);
      }
      await assert.rejects(source.read('nope'), /no tensor "nope"/);
    } finally {
      await source.close();
    }
  });

  it('writes the header per the spec: u64 LE length, padded with spaces to a multiple of 8, contiguous offsets in layout order', async () => {
    const file = path.join(await dirs.make(), 'w.safetensors');
    await writeLayout(file, layout, values);
    const bytes = await readFile(file);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const text = bytes.subarray(8, 8 + n).toString('utf8');
    assert.match(text, /^\{.*\} *$/);
    const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    assert.deepEqual(Object.keys(header), ['__metadata__', ...layout.tensors.map((t) => t.name)]);
    assert.deepEqual(header.__metadata__, layout.metadata);
    let offset = 0;
    for (const t of layout.tensors) {
      const entry = header[t.name]!;
      const size = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F32' ? 4 : 2);
      assert.deepEqual(entry, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] });
      offset += size;
    }
    assert.equal(bytes.length, 8 + n + offset);
    // The first tensor (F32) is stored little-endian right after the header.
    assert.equal(bytes.readFloatLE(8 + n), values[0]![0]);
  });

  it('returns the sha256 and size of the bytes written, equal to the file on disk', async () => {
    const file = path.join(await dirs.make(), 'h.safetensors');
    const result = await writeLayout(file, layout, values);
    const bytes = await readFile(file);
    assert.deepEqual(result, { sha256: sha256(bytes), bytes: bytes.length });
  });

  it('writes no __metadata__ when the layout has none, and reads it back as undefined', async () => {
    const file = path.join(await dirs.make(), 'm.safetensors');
    const plain: TensorLayout = { tensors: [{ name: 'a', dtype: 'F32', shape: [2] }], metadata: undefined };
    await writeLayout(file, plain, [Float32Array.of(1, 2)]);
    assert.doesNotMatch((await readFile(file)).toString('latin1'), /__metadata__/);
    const source = await safetensorsFormat.open(file);
    assert.deepEqual(source.layout, plain);
    await source.close();
  });

  it('reads a file written by hand per the spec (unpadded header, JSON order ≠ file order, every dtype)', async () => {
    const file = path.join(await dirs.make(), 'hand.safetensors');
    const header =
      '{"m.third":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
      '"__metadata__":{"format":"pt"},' +
      '"a.second":{"dtype":"BF16","shape":[1,2],"data_offsets":[4,8]},' +
      '"z.first":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}';
    assert.notEqual(header.length % 8, 0);
    await writeFile(file, rawFile(header, Buffer.concat([u16le(0x3c00, 0xc000), u16le(0x3f80, 0x4049), f32le(0.5, -1.25)])));
    const source = await safetensorsFormat.open(file);
    try {
      assert.deepEqual(source.layout, {
        tensors: [
          { name: 'z.first', dtype: 'F16', shape: [2] },
          { name: 'a.second', dtype: 'BF16', shape: [1, 2] },
          { name: 'm.third', dtype: 'F32', shape: [2] },
        ],
        metadata: { format: 'pt' },
      });
      assert.deepEqual([...(await source.read('z.first'))], [1, -2]);
      assert.deepEqual([...(await source.read('a.second'))], [1, 3.140625]);
      assert.deepEqual([...(await source.read('m.third'))], [0.5, -1.25]);
    } finally {
      await source.close();
    }
  });

  it('accepts overlapping or out-of-order tensors and holes, as long as each lies inside the data and has its size', async () => {
    const file = path.join(await dirs.make(), 'overlap.safetensors');
    const header = {
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      c: { dtype: 'F16', shape: [2], data_offsets: [4, 8] },
    };
    await writeFile(file, rawFile(header, f32le(9, 1.5, 2.5)));
    const source = await safetensorsFormat.open(file);
    assert.deepEqual(source.layout.tensors.map((t) => t.name), ['a', 'c', 'b']); // by offset; ties in header order
    assert.deepEqual([...(await source.read('a'))], [1.5, 2.5]);
    assert.deepEqual([...(await source.read('b'))], [2.5]);
    await source.close();
  });

  describe('rejects malformed files', () => {
    const tensor = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

    async function check(bytes: Buffer, ...patterns: RegExp[]): Promise<void> {
      const file = path.join(await dirs.make(), 'bad.safetensors');
      await writeFile(file, bytes);
      await rejects(file, ...patterns);
    }

    it('too short for the header length', () => check(Buffer.from([1, 2, 3]), /too short/));
    it('an absurd header length (> 100 MB)', () => check(rawFile({}, Buffer.alloc(0), 2n ** 40n), /header length 1099511627776 exceeds the 100000000-byte limit/));
    it('a header length beyond the end of the file', () => check(rawFile('{}', Buffer.alloc(0), 100n), /header length 100 runs beyond the end of the 10-byte file/));
    it('invalid JSON', () => check(rawFile('{"a": '), /not valid UTF-8 JSON/));
    it('invalid UTF-8', () => check(rawFile(Buffer.from([0x7b, 0xff, 0x7d])), /not valid UTF-8 JSON/));
    it('a header that is not an object', () => check(rawFile('[1, 2]'), /not a JSON object/));
    it('an entry that is not an object', () => check(rawFile({ a: 5 }), /tensor "a": the header entry is not an object/));
    it('an unsupported dtype, naming it, the tensor and the supported ones', () =>
      check(rawFile({ 'x.weight': { ...tensor, dtype: 'I64' } }, Buffer.alloc(16)), /tensor "x\.weight": unsupported dtype "I64" \(supported: F32, F16, BF16\)/));
    it('a bad shape', () => check(rawFile({ a: { ...tensor, shape: [2, -1] } }, Buffer.alloc(8)), /tensor "a": shape \[2,-1\] is not a list of non-negative integers/));
    it('bad data_offsets', () => check(rawFile({ a: { ...tensor, data_offsets: [0] } }, Buffer.alloc(8)), /tensor "a": data_offsets \[0\] is not a pair/));
    it('data_offsets whose size does not match shape × dtype', () =>
      check(rawFile({ a: { ...tensor, dtype: 'F16', data_offsets: [0, 8] } }, Buffer.alloc(8)), /tensor "a": data_offsets \[0, 8\] hold 8 bytes, but F16 \[2\] needs 4/));
    it('data_offsets in reverse', () => check(rawFile({ a: { ...tensor, data_offsets: [8, 0] } }, Buffer.alloc(8)), /tensor "a": data_offsets \[8, 0\]/));
    it('data_offsets beyond the end of the file', () =>
      check(rawFile({ a: { ...tensor, data_offsets: [4, 12] } }, Buffer.alloc(8)), /tensor "a": data_offsets \[4, 12\] run beyond the 8-byte data buffer/));
    it('a truncated data buffer', () => check(rawFile({ a: tensor }, Buffer.alloc(7)), /beyond the 7-byte data buffer/));
    it('__metadata__ with a non-string value', () => check(rawFile({ __metadata__: { epochs: 3 } }), /__metadata__: "epochs" is 3, not a string/));
    it('__metadata__ that is not an object', () => check(rawFile({ __metadata__: 'x' }), /__metadata__: "x" is not an object of strings/));
  });

  describe('writing', () => {
    const two: TensorLayout = {
      tensors: [
        { name: 'first', dtype: 'F32', shape: [2] },
        { name: 'second', dtype: 'BF16', shape: [3] },
      ],
      metadata: undefined,
    };

    it('writes to a temporary file in the same directory and renames it into place on commit', async () => {
      const dir = await dirs.make();
      const file = path.join(dir, 'a.safetensors');
      const sink = await safetensorsFormat.create(file, two);
      await sink.write(Float32Array.of(1, 2));
      const during = await readdir(dir);
      assert.equal(during.length, 1);
      assert.match(during[0]!, /^a\.safetensors\..*\.tmp$/);
      await sink.write(Float32Array.of(3, 4, 5));
      await sink.commit();
      assert.deepEqual(await readdir(dir), ['a.safetensors']);
      await sink.abort(); // after commit: a no-op
      assert.deepEqual(await readdir(dir), ['a.safetensors']);
    });

    it('abort removes the temporary file and leaves an existing target untouched', async () => {
      const dir = await dirs.make();
      const file = path.join(dir, 'a.safetensors');
      await writeFile(file, 'previous');
      const sink = await safetensorsFormat.create(file, two);
      await sink.write(Float32Array.of(1, 2));
      await sink.abort();
      await sink.abort(); // twice is fine
      assert.deepEqual(await readdir(dir), ['a.safetensors']);
      assert.equal(await readFile(file, 'utf8'), 'previous');
      await assert.rejects(sink.write(Float32Array.of(3, 4, 5)), /write\(\) after commit\(\) or abort\(\)/);
    });

    it('a failed write leaves no target; abort then leaves no temporary file', async () => {
      const dir = await dirs.make();
      const file = path.join(dir, 'a.safetensors');
      const sink = await safetensorsFormat.create(file, two);
      await assert.rejects(sink.write(Float32Array.of(1, 2, 3)), (error: unknown) => {
        assert.ok(error instanceof SafetensorsError);
        assert.match(error.message, /tensor "first" \[2\] has 2 elements, write\(\) got 3/);
        return true;
      });
      await assert.rejects(sink.commit(), /commit\(\) after 0 of 2 tensors \(next: "first"\)/);
      assert.ok(!(await readdir(dir)).includes('a.safetensors'));
      await sink.abort();
      assert.deepEqual(await readdir(dir), []);
    });

    /** Runs `body` with FileHandle's `method` failing with EIO (all handles; restored afterwards). */
    async function withFailing(method: 'write' | 'sync', body: () => Promise<void>): Promise<void> {
      const probe = await open(__filename, 'r');
      const proto = Object.getPrototypeOf(probe) as Record<string, unknown>;
      await probe.close();
      const original = proto[method];
      proto[method] = () => Promise.reject(Object.assign(new Error('EIO: i/o error (simulated)'), { code: 'EIO' }));
      try {
        await body();
      } finally {
        proto[method] = original;
      }
    }

    it('an I/O error while writing fails the sink, leaves no target, and abort removes the temporary file', async () => {
      const dir = await dirs.make();
      const file = path.join(dir, 'a.safetensors');
      const sink = await safetensorsFormat.create(file, two);
      await withFailing('write', () => assert.rejects(sink.write(Float32Array.of(1, 2)), /EIO/));
      await assert.rejects(sink.write(Float32Array.of(1, 2)), /write\(\) after a failed write/);
      await assert.rejects(sink.commit(), /commit\(\) after a failed write/);
      assert.ok(!(await readdir(dir)).includes('a.safetensors'));
      await sink.abort();
      assert.deepEqual(await readdir(dir), []);
    });

    it('an I/O error while committing leaves neither the target nor the temporary file', async () => {
      const dir = await dirs.make();
      const sink = await safetensorsFormat.create(path.join(dir, 'a.safetensors'), two);
      await sink.write(Float32Array.of(1, 2));
      await sink.write(Float32Array.of(3, 4, 5));
      await withFailing('sync', () => assert.rejects(sink.commit(), /EIO/));
      assert.deepEqual(await readdir(dir), []);
      await sink.abort();
    });

    it('rejects too many writes, commit before the last tensor, and overlapping calls', async () => {
      const dir = await dirs.make();
      const sink = await safetensorsFormat.create(path.join(dir, 'a.safetensors'), two);
      const first = sink.write(Float32Array.of(1, 2));
      await assert.rejects(sink.write(Float32Array.of(1, 2, 3)), /while another write or commit is in progress/);
      await first;
      await assert.rejects(sink.commit(), /commit\(\) after 1 of 2 tensors \(next: "second"\)/);
      await sink.write(Float32Array.of(3, 4, 5));
      await assert.rejects(sink.write(Float32Array.of(6)), /write\(\) called 3 times, the layout has 2 tensors/);
      await sink.commit();
      await assert.rejects(sink.commit(), /commit\(\) after commit\(\) or abort\(\)/);
    });

    it('rejects layouts it cannot write, before creating any file', async () => {
      const dir = await dirs.make();
      const file = path.join(dir, 'a.safetensors');
      const bad = async (l: TensorLayout, pattern: RegExp): Promise<void> => {
        await assert.rejects(safetensorsFormat.create(file, l), (error: unknown) => error instanceof SafetensorsError && pattern.test(error.message));
      };
      const t = two.tensors[0]!;
      await bad({ tensors: [{ ...t, dtype: 'F64' as TensorDType }], metadata: undefined }, /tensor "first": unsupported dtype "F64" \(supported: F32, F16, BF16\)/);
      await bad({ tensors: [t, t], metadata: undefined }, /tensor name "first" \(empty, reserved or repeated\)/);
      await bad({ tensors: [{ ...t, name: '__metadata__' }], metadata: undefined }, /tensor name "__metadata__"/);
      await bad({ tensors: [{ ...t, shape: [1.5] }], metadata: undefined }, /shape \[1\.5\]/);
      await bad({ tensors: [t], metadata: { epochs: 3 } }, /__metadata__.*"epochs" is 3, not a string/);
      await bad({ tensors: [t], metadata: null }, /not an object of strings/);
      assert.deepEqual(await readdir(dir), []);
    });
  });
});
