import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GgufError, metaNumber, metaString, readGgufInfo } from '../../llm/gguf';
import { DEFAULT_LORA_MODULES, readBaseLoraTargets, readLoraAdapter, writeLoraAdapter, type LoraAdapter } from '../../llm/gguf-lora';
import { createRandomLora } from '../../llm/gguf-lora-random';
import { tmpDirs } from '../activities/tmp-dir';
import { randomF32, TINY, writeTinyBase } from './fixtures';

const fileSha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

describe('llm/gguf-lora', () => {
  const dirs = tmpDirs('lora');
  let base = '';
  before(async () => {
    base = await writeTinyBase(await dirs.make());
  });
  after(() => dirs.cleanup());

  describe('readBaseLoraTargets', () => {
    it('lists the 2-D weights of the requested modules, by block then module order, with [n_in, n_out]', async () => {
      const { architecture, blockCount, targets } = await readBaseLoraTargets(base);
      assert.equal(architecture, 'llama');
      assert.equal(blockCount, TINY.blocks);
      assert.equal(targets.length, TINY.blocks * DEFAULT_LORA_MODULES.length);
      assert.deepEqual(
        targets.slice(0, 7).map((t) => [t.name, t.nIn, t.nOut]),
        [
          ['blk.0.attn_q.weight', 16, 16],
          ['blk.0.attn_k.weight', 16, 8],
          ['blk.0.attn_v.weight', 16, 8],
          ['blk.0.attn_output.weight', 16, 16],
          ['blk.0.ffn_gate.weight', 16, 24],
          ['blk.0.ffn_up.weight', 16, 24],
          ['blk.0.ffn_down.weight', 24, 16],
        ],
      );
      assert.deepEqual(targets[7], { name: 'blk.1.attn_q.weight', block: 1, module: 'attn_q', nIn: 16, nOut: 16 });
    });

    it('honours a module subset and names a module the base does not have', async () => {
      const { targets } = await readBaseLoraTargets(base, ['ffn_down', 'attn_v']);
      assert.deepEqual(
        targets.map((t) => t.name),
        ['blk.0.ffn_down.weight', 'blk.0.attn_v.weight', 'blk.1.ffn_down.weight', 'blk.1.attn_v.weight'],
      );
      await assert.rejects(readBaseLoraTargets(base, ['attn_q', 'attn_qkv']), /module\(s\) attn_qkv/);
    });
  });

  describe('writeLoraAdapter / readLoraAdapter', () => {
    const adapter = (rank: number): LoraAdapter => ({
      architecture: 'llama',
      alpha: 16,
      rank,
      tensors: [
        { name: 'blk.0.attn_k.weight', a: randomF32(16 * rank, 1), b: randomF32(rank * 8, 2), aDims: [16, rank], bDims: [rank, 8] },
        { name: 'blk.1.ffn_down.weight', a: randomF32(24 * rank, 3), b: randomF32(rank * 16, 4), aDims: [24, rank], bDims: [rank, 16] },
      ],
    });

    it('round-trips names, dims, values, alpha and rank exactly', async () => {
      const file = path.join(await dirs.make(), 'a.gguf');
      const original = adapter(4);
      const sha = await writeLoraAdapter(file, original);
      assert.equal(sha, await fileSha256(file));
      assert.deepEqual(await readLoraAdapter(file), original);
    });

    it('writes the layout llama.cpp loads: adapter metadata, F32 .lora_a [n_in, r] and .lora_b [r, n_out]', async () => {
      const file = path.join(await dirs.make(), 'a.gguf');
      await writeLoraAdapter(file, adapter(3));
      const info = await readGgufInfo(file);
      assert.equal(metaString(info.metadata, 'general.architecture'), 'llama');
      assert.equal(metaString(info.metadata, 'general.type'), 'adapter');
      assert.equal(metaString(info.metadata, 'adapter.type'), 'lora');
      assert.deepEqual(info.metadata.get('adapter.lora.alpha'), { type: 'float32', value: 16 });
      assert.equal(metaNumber(info.metadata, 'general.file_type'), 0);
      assert.deepEqual(
        info.tensors.map((t) => [t.name, t.dims, t.typeName]),
        [
          ['blk.0.attn_k.weight.lora_a', [16, 3], 'F32'],
          ['blk.0.attn_k.weight.lora_b', [3, 8], 'F32'],
          ['blk.1.ffn_down.weight.lora_a', [24, 3], 'F32'],
          ['blk.1.ffn_down.weight.lora_b', [3, 16], 'F32'],
        ],
      );
    });

    it('refuses inconsistent ranks, wrong data lengths and non-weight names', async () => {
      const file = path.join(await dirs.make(), 'bad.gguf');
      const good = adapter(2);
      const pair = good.tensors[0]!;
      await assert.rejects(writeLoraAdapter(file, { ...good, rank: 3 }), /must have rank 3/);
      await assert.rejects(writeLoraAdapter(file, { ...good, tensors: [{ ...pair, a: new Float32Array(5) }] }), /data lengths/);
      await assert.rejects(writeLoraAdapter(file, { ...good, tensors: [{ ...pair, name: 'blk.0.attn_k' }] }), (e: unknown) => e instanceof GgufError);
    });
  });

  describe('createRandomLora', () => {
    it('is deterministic: same seed ⇒ same bytes and sha256; another seed ⇒ another file', async () => {
      const dir = await dirs.make();
      const one = await createRandomLora(base, path.join(dir, 'one.gguf'), { rank: 4, seed: 7 });
      const again = await createRandomLora(base, path.join(dir, 'again.gguf'), { rank: 4, seed: 7 });
      const other = await createRandomLora(base, path.join(dir, 'other.gguf'), { rank: 4, seed: 8 });
      assert.equal(one.sha256, again.sha256);
      assert.deepEqual(await readFile(path.join(dir, 'one.gguf')), await readFile(path.join(dir, 'again.gguf')));
      assert.notEqual(one.sha256, other.sha256);
      assert.equal(one.sha256, await fileSha256(path.join(dir, 'one.gguf')));
      assert.deepEqual({ ...one, sha256: '' }, { sha256: '', rank: 4, alpha: 4, scale: 0.01, tensorPairs: 14 });
    });

    it('covers every target with nonzero A and B whose update ΔW = (alpha/r)·B·A has RMS ≈ scale', async () => {
      const file = path.join((await dirs.make()), 'r.gguf');
      const scale = 0.05;
      await createRandomLora(base, file, { rank: 4, alpha: 8, seed: 3, scale });
      const lora = await readLoraAdapter(file);
      assert.equal(lora.alpha, 8);
      assert.equal(lora.tensors.length, 14);
      let sumSq = 0;
      let count = 0;
      for (const { a, b, aDims, bDims } of lora.tensors) {
        const [nIn, r] = aDims;
        const nOut = bDims[1];
        assert.ok(a.some((x) => x !== 0) && b.some((x) => x !== 0));
        for (let o = 0; o < nOut; o++) {
          for (let j = 0; j < nIn; j++) {
            let dw = 0;
            for (let k = 0; k < r; k++) dw += b[o * r + k]! * a[k * nIn + j]!;
            sumSq += ((lora.alpha / lora.rank) * dw) ** 2;
            count++;
          }
        }
      }
      const rms = Math.sqrt(sumSq / count);
      assert.ok(rms > scale * 0.7 && rms < scale * 1.3, `RMS of ΔW ${rms} vs scale ${scale}`);
    });
  });
});
