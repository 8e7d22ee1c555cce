import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  GgufError,
  parseGgufHeader,
  readGgufInfo,
  readTensorF32,
  writeGguf,
  type GgufMetadata,
  type GgufValue,
} from '../../llm/gguf';
import { tmpDirs } from '../activities/tmp-dir';
import { Bytes } from './fixtures';

/** Every metadata type, arrays of several item types, a nested array and an empty one. */
const ALL_TYPES: [string, GgufValue][] = [
  ['general.architecture', { type: 'string', value: 'llama' }],
  ['general.alignment', { type: 'uint32', value: 64 }],
  ['t.u8', { type: 'uint8', value: 200 }],
  ['t.i8', { type: 'int8', value: -5 }],
  ['t.u16', { type: 'uint16', value: 60000 }],
  ['t.i16', { type: 'int16', value: -30000 }],
  ['t.u32', { type: 'uint32', value: 4_000_000_000 }],
  ['t.i32', { type: 'int32', value: -2_000_000_000 }],
  ['t.f32', { type: 'float32', value: 1.5 }],
  ['t.bool', { type: 'bool', value: true }],
  ['t.string', { type: 'string', value: 'héllo ✓' }],
  ['t.u64', { type: 'uint64', value: 2n ** 63n + 5n }],
  ['t.i64', { type: 'int64', value: -(2n ** 62n) }],
  ['t.f64', { type: 'float64', value: Math.PI }],
  ['t.arr.u8', { type: 'array', itemType: 'uint8', value: [1, 2, 3] }],
  ['t.arr.f32', { type: 'array', itemType: 'float32', value: [0.5, -2.25] }],
  ['t.arr.str', { type: 'array', itemType: 'string', value: ['a', '', 'ü'] }],
  ['t.arr.i64', { type: 'array', itemType: 'int64', value: [-1n, 7n] }],
  ['t.arr.bool', { type: 'array', itemType: 'bool', value: [true, false] }],
  [
    't.arr.arr',
    {
      type: 'array',
      itemType: 'array',
      value: [
        { type: 'array', itemType: 'int32', value: [1, -2] },
        { type: 'array', itemType: 'int32', value: [3] },
      ],
    },
  ],
  ['t.arr.empty', { type: 'array', itemType: 'uint32', value: [] }],
];

/** The same content, byte by byte, by hand: two tensors (Q8_0 [32, 2] at 0, F32 [3] at 128), alignment 64. */
function handMadeFile(q8: Buffer): { bytes: Buffer; headerEnd: number } {
  const b = new Bytes().u32(0x46554747).u32(3).u64(2).u64(ALL_TYPES.length);
  b.key('general.architecture', 8).str('llama');
  b.key('general.alignment', 4).u32(64);
  b.key('t.u8', 0).u8(200);
  b.key('t.i8', 1).i8(-5);
  b.key('t.u16', 2).u16(60000);
  b.key('t.i16', 3).i16(-30000);
  b.key('t.u32', 4).u32(4_000_000_000);
  b.key('t.i32', 5).i32(-2_000_000_000);
  b.key('t.f32', 6).f32(1.5);
  b.key('t.bool', 7).u8(1);
  b.key('t.string', 8).str('héllo ✓');
  b.key('t.u64', 10).u64(2n ** 63n + 5n);
  b.key('t.i64', 11).i64(-(2n ** 62n));
  b.key('t.f64', 12).f64(Math.PI);
  b.key('t.arr.u8', 9).u32(0).u64(3).u8(1).u8(2).u8(3);
  b.key('t.arr.f32', 9).u32(6).u64(2).f32(0.5).f32(-2.25);
  b.key('t.arr.str', 9).u32(8).u64(3).str('a').str('').str('ü');
  b.key('t.arr.i64', 9).u32(11).u64(2).i64(-1n).i64(7n);
  b.key('t.arr.bool', 9).u32(7).u64(2).u8(1).u8(0);
  b.key('t.arr.arr', 9).u32(9).u64(2).u32(5).u64(2).i32(1).i32(-2).u32(5).u64(1).i32(3);
  b.key('t.arr.empty', 9).u32(4).u64(0);
  b.str('w.q8').u32(2).u64(32).u64(2).u32(8).u64(0);
  b.str('w.f32').u32(1).u64(3).u32(0).u64(128);
  b.padTo(64);
  const headerEnd = b.length;
  b.raw(q8).padTo(64);
  b.f32(1).f32(2).f32(3);
  return { bytes: b.toBuffer(), headerEnd };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('llm/gguf reader and writer', () => {
  const dirs = tmpDirs('gguf');
  after(() => dirs.cleanup());

  describe('reader, on a hand-made file', () => {
    const q8 = Buffer.from(Array.from({ length: 68 }, (_, i) => (i * 37) & 0xff));
    const { bytes, headerEnd } = handMadeFile(q8);

    it('reads metadata of every type (arrays, nested and empty ones included) in file order', async () => {
      const file = path.join(await dirs.make(), 'hand.gguf');
      await writeFile(file, bytes);
      const info = await readGgufInfo(file);
      assert.equal(info.version, 3);
      assert.deepEqual([...info.metadata.entries()], ALL_TYPES);
      assert.equal(info.fileSize, bytes.length);
    });

    it('reads the tensor table, the alignment and the data offset; reads F32 data', async () => {
      const file = path.join(await dirs.make(), 'hand.gguf');
      await writeFile(file, bytes);
      const info = await readGgufInfo(file);
      assert.equal(info.alignment, 64);
      assert.equal(info.dataOffset, headerEnd);
      assert.deepEqual(info.tensors, [
        { name: 'w.q8', dims: [32, 2], type: 8, typeName: 'Q8_0', offset: 0, byteSize: 68 },
        { name: 'w.f32', dims: [3], type: 0, typeName: 'F32', offset: 128, byteSize: 12 },
      ]);
      assert.deepEqual([...(await readTensorF32(file, info, info.tensors[1]!))], [1, 2, 3]);
      await assert.rejects(readTensorF32(file, info, info.tensors[0]!), /Q8_0, not F32/);
    });

    it('rejects truncated files, a wrong magic, unknown versions and data past the end', () => {
      const inTensorTable = bytes.indexOf('w.f32') + 2;
      for (const cut of [0, 3, 20, 100, inTensorTable]) {
        assert.throws(() => parseGgufHeader(bytes.subarray(0, cut)), (e: unknown) => e instanceof GgufError && /truncated/.test(e.message), `cut at ${cut}`);
      }
      assert.throws(() => parseGgufHeader(bytes.subarray(0, headerEnd + 100)), /data ends past the end/);
      const badMagic = Buffer.from(bytes);
      badMagic.write('GGUX', 0, 'latin1');
      assert.throws(() => parseGgufHeader(badMagic), /not a GGUF file/);
      const v1 = Buffer.from(bytes);
      v1.writeUInt32LE(1, 4);
      assert.throws(() => parseGgufHeader(v1), /unsupported GGUF version 1/);
    });

    it('reads a header larger than its first read (a 2.9 MB string array)', async () => {
      const tokens = Array.from({ length: 150_000 }, (_, i) => `token-${i}`);
      const file = path.join(await dirs.make(), 'big-header.gguf');
      await writeGguf(file, new Map([['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: tokens }]]), [
        { name: 'x', dims: [2], data: Float32Array.of(1, 2) },
      ]);
      const info = await readGgufInfo(file);
      const v = info.metadata.get('tokenizer.ggml.tokens');
      assert.ok(v?.type === 'array' && v.itemType === 'string');
      assert.equal(v.value.length, tokens.length);
      assert.equal(v.value.at(-1), 'token-149999');
      assert.ok(info.dataOffset > 2 << 20, `header of ${info.dataOffset} bytes`);
      assert.deepEqual([...(await readTensorF32(file, info, info.tensors[0]!))], [1, 2]);
    });
  });

  describe('writer', () => {
    it('writes exactly the bytes of a hand-made F32 file (header, per-tensor padding to 32, data)', async () => {
      const hand = new Bytes().u32(0x46554747).u32(3).u64(2).u64(2);
      hand.key('general.architecture', 8).str('llama').key('adapter.lora.alpha', 6).f32(16);
      hand.str('a').u32(2).u64(3).u64(1).u32(0).u64(0);
      hand.str('b').u32(1).u64(2).u32(0).u64(32);
      hand.padTo(32).f32(1).f32(-2).f32(3.5).padTo(32).f32(4).f32(5).padTo(32);
      const expected = hand.toBuffer();
      const file = path.join(await dirs.make(), 'w.gguf');
      const metadata: GgufMetadata = new Map<string, GgufValue>([
        ['general.architecture', { type: 'string', value: 'llama' }],
        ['adapter.lora.alpha', { type: 'float32', value: 16 }],
      ]);
      const result = await writeGguf(file, metadata, [
        { name: 'a', dims: [3, 1], data: Float32Array.of(1, -2, 3.5) },
        { name: 'b', dims: [2], data: Float32Array.of(4, 5) },
      ]);
      const written = await readFile(file);
      assert.deepEqual(written, expected);
      assert.equal(result.sha256, sha256(expected));
      assert.equal(result.bytes, expected.length);
    });

    it('round-trips metadata of every type and F32 tensors through the reader', async () => {
      const dir = await dirs.make();
      const file = path.join(dir, 'rt.gguf');
      const data = Float32Array.from({ length: 40 }, (_, i) => Math.fround(Math.sin(i) * 1e-3));
      await writeGguf(file, new Map(ALL_TYPES), [
        { name: 'blk.0.x.weight', dims: [8, 5], data },
        { name: 'v', dims: [1], data: Float32Array.of(-0) },
      ]);
      const info = await readGgufInfo(file);
      assert.deepEqual([...info.metadata.entries()], ALL_TYPES);
      assert.equal(info.alignment, 64);
      assert.deepEqual(
        info.tensors.map((t) => [t.name, t.dims, t.typeName, t.offset]),
        [
          ['blk.0.x.weight', [8, 5], 'F32', 0],
          ['v', [1], 'F32', 192],
        ],
      );
      assert.deepEqual(await readTensorF32(file, info, info.tensors[0]!), data);
      assert.ok(Object.is((await readTensorF32(file, info, info.tensors[1]!))[0], -0));
      assert.deepEqual(await readdir(dir), ['rt.gguf'], 'no temporary file is left behind');
    });

    it('agrees with node-llama-cpp\'s independent GGUF parser', async () => {
      const file = path.join(await dirs.make(), 'nlc.gguf');
      await writeGguf(file, new Map(ALL_TYPES), [
        { name: 'a', dims: [4, 3], data: new Float32Array(12).fill(0.25) },
        { name: 'b', dims: [5], data: new Float32Array(5) },
      ]);
      const { readGgufFileInfo } = await import('node-llama-cpp');
      const theirs = await readGgufFileInfo(file, { logWarnings: false });
      assert.equal(theirs.version, 3);
      assert.deepEqual(
        theirs.fullTensorInfo?.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType, Number(t.offset)]),
        [
          ['a', [4, 3], 0, 0],
          ['b', [5], 0, 64],
        ],
      );
      const raw = theirs.metadata as unknown as Record<string, Record<string, unknown>>;
      assert.equal(raw.general?.architecture, 'llama');
      assert.equal(raw.general?.alignment, 64);
    });

    it('refuses values outside their type, bad tensors, and leaves an existing file intact on failure', async () => {
      const dir = await dirs.make();
      const file = path.join(dir, 'x.gguf');
      await writeFile(file, 'previous');
      const t = { name: 'a', dims: [2], data: Float32Array.of(1, 2) };
      const bad: [Map<string, GgufValue>, { name: string; dims: number[]; data: Float32Array }[], RegExp][] = [
        [new Map([['k', { type: 'uint8', value: 256 }]]), [t], /not a valid uint8/],
        [new Map([['k', { type: 'int32', value: 1.5 }]]), [t], /not a valid int32/],
        [new Map([['k', { type: 'uint64', value: -1n }]]), [t], /not a valid uint64/],
        [new Map([['k', { type: 'array', itemType: 'int8', value: [1, 300] }]]), [t], /not a valid int8/],
        [new Map([['general.alignment', { type: 'uint32', value: 24 }]]), [t], /power-of-two/],
        [new Map<string, GgufValue>(), [{ ...t, data: Float32Array.of(1) }], /1 values for dims \[2\]/],
        [new Map<string, GgufValue>(), [t, t], /duplicate tensor/],
        [new Map<string, GgufValue>(), [{ ...t, name: 'n'.repeat(64) }], /1\.\.63 bytes/],
        [new Map<string, GgufValue>(), [{ ...t, dims: [1, 1, 1, 1, 2] }], /dims/],
      ];
      for (const [metadata, tensors, message] of bad) {
        await assert.rejects(writeGguf(file, metadata, tensors), (e: unknown) => e instanceof GgufError && message.test(e.message), String(message));
      }
      assert.equal(await readFile(file, 'utf8'), 'previous');
      assert.deepEqual(await readdir(dir), ['x.gguf']);
    });
  });
});
