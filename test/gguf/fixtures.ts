/**
 * GGUF fixtures for the tests: a byte-level builder independent of `llm/gguf-writer.ts` (so the reader is
 * checked against the format, not against our own writer), and a tiny llama-shaped base model with random
 * F32 weights written through the writer.
 */
import path from 'node:path';
import { writeGguf, type GgufMetadata, type GgufTensorToWrite } from '../../llm/gguf';
import { createRng } from '../../workflows/core/rng';

/** Little-endian byte builder for hand-made GGUF files. */
export class Bytes {
  private readonly parts: Buffer[] = [];

  get length(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  private put(size: number, fill: (b: Buffer) => void): this {
    const b = Buffer.alloc(size);
    fill(b);
    return this.raw(b);
  }

  u8(v: number): this {
    return this.put(1, (b) => b.writeUInt8(v));
  }
  i8(v: number): this {
    return this.put(1, (b) => b.writeInt8(v));
  }
  u16(v: number): this {
    return this.put(2, (b) => b.writeUInt16LE(v));
  }
  i16(v: number): this {
    return this.put(2, (b) => b.writeInt16LE(v));
  }
  u32(v: number): this {
    return this.put(4, (b) => b.writeUInt32LE(v));
  }
  i32(v: number): this {
    return this.put(4, (b) => b.writeInt32LE(v));
  }
  f32(v: number): this {
    return this.put(4, (b) => b.writeFloatLE(v));
  }
  f64(v: number): this {
    return this.put(8, (b) => b.writeDoubleLE(v));
  }
  u64(v: number | bigint): this {
    return this.put(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }
  i64(v: bigint): this {
    return this.put(8, (b) => b.writeBigInt64LE(v));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.u64(b.length).raw(b);
  }
  /** A metadata key followed by its type code. */
  key(k: string, typeCode: number): this {
    return this.str(k).u32(typeCode);
  }
  padTo(alignment: number): this {
    const pad = (alignment - (this.length % alignment)) % alignment;
    return this.raw(Buffer.alloc(pad));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Normal-ish random F32 values (sum of uniforms), seeded. */
export function randomF32(n: number, seed: number, scale = 0.1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() + rng.next() + rng.next() - 1.5) * scale);
}

/** Shapes of the tiny base: n_embd 16, n_ff 24, k/v width 8, vocab 32, two blocks. */
export const TINY = { nEmbd: 16, nFf: 24, nKv: 8, vocab: 32, blocks: 2 } as const;

/** Writes a tiny llama-shaped GGUF with random F32 weights; returns its path. */
export async function writeTinyBase(dir: string, seed = 1): Promise<string> {
  const { nEmbd, nFf, nKv, vocab, blocks } = TINY;
  const metadata: GgufMetadata = new Map([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.type', { type: 'string', value: 'model' }],
    ['llama.block_count', { type: 'uint32', value: blocks }],
    ['llama.embedding_length', { type: 'uint32', value: nEmbd }],
  ]);
  const tensors: GgufTensorToWrite[] = [];
  const add = (name: string, dims: number[]): void => {
    tensors.push({ name, dims, data: randomF32(dims.reduce((p, d) => p * d, 1), seed * 1000 + tensors.length) });
  };
  add('token_embd.weight', [nEmbd, vocab]);
  for (let b = 0; b < blocks; b++) {
    add(`blk.${b}.attn_norm.weight`, [nEmbd]);
    add(`blk.${b}.ffn_down.weight`, [nFf, nEmbd]);
    add(`blk.${b}.ffn_gate.weight`, [nEmbd, nFf]);
    add(`blk.${b}.ffn_up.weight`, [nEmbd, nFf]);
    add(`blk.${b}.attn_k.weight`, [nEmbd, nKv]);
    add(`blk.${b}.attn_output.weight`, [nEmbd, nEmbd]);
    add(`blk.${b}.attn_q.weight`, [nEmbd, nEmbd]);
    add(`blk.${b}.attn_v.weight`, [nEmbd, nKv]);
  }
  add('output_norm.weight', [nEmbd]);
  const file = path.join(dir, 'tiny-base.gguf');
  await writeGguf(file, metadata, tensors);
  return file;
}

/** The real embedded base model (installed by scripts/setup.sh). */
export const REAL_BASE = path.resolve(__dirname, '../../.models/SmolLM2-135M-Instruct.Q4_1.gguf');
