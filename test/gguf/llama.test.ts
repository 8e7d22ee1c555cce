/**
 * The real embedded base model: our reader against node-llama-cpp's parser, and llama.cpp (through
 * node-llama-cpp) loading our adapters — the check that the adapter format is what llama.cpp expects.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { metaNumber, metaString, readGgufInfo, writeGguf, type GgufMetadata } from '../../llm/gguf';
import { readBaseLoraTargets, readLoraAdapter, writeLoraAdapter } from '../../llm/gguf-lora';
import { createRandomLora } from '../../llm/gguf-lora-random';
import { tmpDirs } from '../activities/tmp-dir';
import { randomF32, REAL_BASE } from './fixtures';
import { until } from '../helpers/wait';
import type * as NodeLlamaCppModule from 'node-llama-cpp' with { 'resolution-mode': 'import' };

type NodeLlamaCpp = typeof NodeLlamaCppModule;
type LlamaModel = Awaited<ReturnType<Awaited<ReturnType<NodeLlamaCpp['getLlama']>>['loadModel']>>;

describe('llm/gguf on the real base model (SmolLM2-135M-Instruct Q4_1) and llama.cpp', function () {
  this.timeout(120_000);
  const dirs = tmpDirs('gguf-llama');
  let nlc: NodeLlamaCpp;
  let model: LlamaModel;
  /** llama.cpp's error log lines (kept out of the test output, checked by the rejection test). */
  const llamaErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(REAL_BASE), `${REAL_BASE} is missing: run \`npm run setup\` (scripts/setup.sh installs it)`);
    nlc = await import('node-llama-cpp');
    const llama = await nlc.getLlama({
      build: 'never',
      gpu: false,
      logLevel: nlc.LlamaLogLevel.error,
      logger: (_level, message) => void llamaErrors.push(message),
    });
    model = await llama.loadModel({ modelPath: REAL_BASE });
  });
  after(async () => {
    await model?.llama.dispose();
    await dirs.cleanup();
  });

  /**
   * Greedy outputs of the base (or base + adapter) for a raw completion and a chat turn. One thread: this
   * machine may have 2 cores shared with other tests, and llama.cpp's spinning threads collapse when
   * oversubscribed (the default of 4 threads on 2 cores is ~100× slower).
   */
  async function greedy(lora?: string): Promise<string[]> {
    const context = await model.createContext({ contextSize: 512, threads: 1, ...(lora !== undefined ? { lora: { adapters: [{ filePath: lora }] } } : {}) });
    try {
      const first = context.getSequence();
      const completion = await new nlc.LlamaCompletion({ contextSequence: first }).generateCompletion('The capital of France is', { maxTokens: 24, temperature: 0 });
      await first.dispose();
      const chat = new nlc.LlamaChatSession({ contextSequence: context.getSequence() });
      const answer = await chat.prompt('Name three colors.', { maxTokens: 24, temperature: 0 });
      return [completion, answer];
    } finally {
      await context.dispose();
    }
  }

  it('reads the header: architecture llama, 30 blocks, the tensor table as node-llama-cpp reads it', async () => {
    const info = await readGgufInfo(REAL_BASE);
    assert.equal(info.version, 3);
    assert.equal(metaString(info.metadata, 'general.architecture'), 'llama');
    assert.equal(metaNumber(info.metadata, 'llama.block_count'), 30);
    assert.equal(metaNumber(info.metadata, 'llama.embedding_length'), 576);
    const q = info.tensors.find((t) => t.name === 'blk.0.attn_q.weight');
    assert.deepEqual(q && [q.dims, q.typeName], [[576, 576], 'Q4_1']);
    const tokens = info.metadata.get('tokenizer.ggml.tokens');
    assert.ok(tokens?.type === 'array' && tokens.value.length === 49152);

    const theirs = await nlc.readGgufFileInfo(REAL_BASE, { logWarnings: false });
    const theirTensors = theirs.fullTensorInfo ?? [];
    assert.equal(info.tensors.length, theirTensors.length);
    for (const [i, t] of info.tensors.entries()) {
      const o = theirTensors[i]!;
      assert.deepEqual([t.name, t.dims, t.type, t.offset, info.dataOffset + t.offset], [o.name, o.dimensions.map(Number), o.ggmlType, Number(o.offset), Number(o.fileOffset)]);
    }
    // The tensors are packed: each starts where the previous one's aligned data ends, and the last ends the file.
    for (const [i, t] of info.tensors.entries()) {
      const next = info.tensors[i + 1];
      const end = t.offset + t.byteSize!;
      if (next) assert.equal(next.offset, Math.ceil(end / info.alignment) * info.alignment, t.name);
      else assert.equal(info.dataOffset + end, info.fileSize);
    }
  });

  it('finds the 7 × 30 LoRA targets with their [n_in, n_out]', async () => {
    const { architecture, blockCount, targets } = await readBaseLoraTargets(REAL_BASE);
    assert.equal(architecture, 'llama');
    assert.equal(blockCount, 30);
    assert.equal(targets.length, 210);
    const dims = new Map(targets.filter((t) => t.block === 29).map((t) => [t.module, [t.nIn, t.nOut]]));
    assert.deepEqual(Object.fromEntries(dims), {
      attn_q: [576, 576],
      attn_k: [576, 192],
      attn_v: [576, 192],
      attn_output: [576, 576],
      ffn_gate: [576, 1536],
      ffn_up: [576, 1536],
      ffn_down: [1536, 576],
    });
  });

  it('llama.cpp applies random experts: greedy outputs differ from the base and from each other, and stay text', async () => {
    const dir = await dirs.make();
    const expertA = path.join(dir, 'expert-a.gguf');
    const expertB = path.join(dir, 'expert-b.gguf');
    await createRandomLora(REAL_BASE, expertA, { rank: 8, seed: 1 });
    await createRandomLora(REAL_BASE, expertB, { rank: 8, seed: 2 });
    const base = await greedy();
    const a = await greedy(expertA);
    const b = await greedy(expertB);
    assert.match(base[0] ?? '', /Paris/);
    for (const out of [...a, ...b]) assert.match(out, /[A-Za-z]{3}/, `expert output "${out}"`);
    assert.notDeepEqual(a, base);
    assert.notDeepEqual(b, base);
    assert.notDeepEqual(a, b);
    assert.deepEqual(await greedy(), base, 'the base is unaffected by adapters loaded on other contexts');
  });

  it('llama.cpp honours adapter.lora.alpha as scale alpha / r: (2·alpha, B/2) behaves exactly as (alpha, B)', async () => {
    const dir = await dirs.make();
    const original = path.join(dir, 'alpha-8.gguf');
    await createRandomLora(REAL_BASE, original, { rank: 8, alpha: 8, seed: 1 });
    const lora = await readLoraAdapter(original);
    const halvedB = { ...lora, alpha: 16, tensors: lora.tensors.map((t) => ({ ...t, b: t.b.map((x) => x / 2) })) };
    const equivalent = path.join(dir, 'alpha-16-half-b.gguf');
    await writeLoraAdapter(equivalent, halvedB);
    const doubled = path.join(dir, 'alpha-16.gguf');
    await writeLoraAdapter(doubled, { ...lora, alpha: 16 });
    const reference = await greedy(original);
    assert.deepEqual(await greedy(equivalent), reference);
    assert.notDeepEqual(await greedy(doubled), reference);
  });

  /** A one-pair adapter of blk.0.attn_k.weight ([576, 192]) with the given metadata and factor dims. */
  async function onePair(file: string, architecture: string, aDims: number[], bDims: number[]): Promise<string> {
    const metadata: GgufMetadata = new Map([
      ['general.architecture', { type: 'string', value: architecture }],
      ['general.type', { type: 'string', value: 'adapter' }],
      ['adapter.type', { type: 'string', value: 'lora' }],
      ['adapter.lora.alpha', { type: 'float32', value: 8 }],
    ]);
    await writeGguf(file, metadata, [
      { name: 'blk.0.attn_k.weight.lora_a', dims: aDims, data: randomF32(576 * 8, 1, 0.01) },
      { name: 'blk.0.attn_k.weight.lora_b', dims: bDims, data: randomF32(192 * 8, 2, 0.01) },
    ]);
    return file;
  }

  it('llama.cpp accepts lora_a [n_in, r] + lora_b [r, n_out] and rejects the transposed layout and another architecture', async () => {
    const dir = await dirs.make();
    const ok = await onePair(path.join(dir, 'ok.gguf'), 'llama', [576, 8], [8, 192]);
    const context = await model.createContext({ contextSize: 256, threads: 1, lora: { adapters: [{ filePath: ok }] } });
    await context.dispose();
    const transposed = await onePair(path.join(dir, 'transposed.gguf'), 'llama', [8, 576], [192, 8]);
    const loadFails = async (filePath: string, reason: RegExp): Promise<void> => {
      llamaErrors.length = 0;
      await assert.rejects(model.createContext({ contextSize: 256, threads: 1, lora: { adapters: [{ filePath }] } }), /Failed to initialize LoRA adapter/);
      // llama.cpp's log lines reach the JS logger asynchronously: under load, after the rejection.
      await until(`llama.cpp to log ${String(reason)}`, () => llamaErrors.some((m) => reason.test(m)), { timeoutMs: 5_000, intervalMs: 20 }).catch(() => undefined);
      assert.ok(llamaErrors.some((m) => reason.test(m)), llamaErrors.join('\n'));
    };
    await loadFails(transposed, /blk\.0\.attn_k\.weight' has incorrect shape/);
    const otherArch = await onePair(path.join(dir, 'qwen2.gguf'), 'qwen2', [576, 8], [8, 192]);
    await loadFails(otherArch, /model arch and LoRA arch mismatch/);
  });
});
