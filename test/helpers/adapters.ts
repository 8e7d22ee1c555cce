/** Tiny LoRA adapters for weight-step tests: GGUF files and PEFT directories whose first tensor has a chosen mean. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { peftDirectoryFiles } from '../../adapters/peft';
import { safetensorsFormat } from '../../adapters/safetensors';
import type { TensorDType } from '../../adapters/tensor-file';
import { createRng } from '../../workflows/core/rng';
import { writeLoraAdapter } from '../../llm/gguf-lora';

const RANK = 2;
const WIDTH = 8;

/** `count` values with the given mean (± a seeded wiggle that sums to zero). */
function valuesWithMean(count: number, mean: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const noise = Array.from({ length: count }, () => rng.next() - 0.5);
  const avg = noise.reduce((a, b) => a + b, 0) / count;
  return Float32Array.from(noise, (x) => mean + 0.01 * (x - avg));
}

/**
 * A GGUF LoRA adapter (architecture llama, 2 targets, rank 2, `width` inputs/outputs) whose first tensor
 * (`.lora_a`) has `mean`. The file holds 8·width float32 values.
 */
export async function writeGgufAdapter(file: string, mean: number, seed: number, width = WIDTH): Promise<string> {
  const pair = (name: string, m: number, s: number) => ({
    name,
    a: valuesWithMean(width * RANK, m, s),
    b: valuesWithMean(RANK * width, 0, s + 1),
    aDims: [width, RANK] as [number, number],
    bDims: [RANK, width] as [number, number],
  });
  return writeLoraAdapter(file, { architecture: 'llama', alpha: RANK, rank: RANK, tensors: [pair('blk.0.attn_q.weight', mean, seed), pair('blk.0.attn_v.weight', 0, seed + 7)] });
}

/** A PEFT adapter directory (config + safetensors in `dtype`) whose first tensor (`q_proj.lora_A`) has `mean`. */
export async function writePeftAdapter(dir: string, mean: number, seed: number, dtype: TensorDType = 'F32'): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const prefix = 'base_model.model.model.layers.0.self_attn';
  const tensors = [
    { name: `${prefix}.q_proj.lora_A.weight`, dtype, shape: [RANK, WIDTH], values: valuesWithMean(RANK * WIDTH, mean, seed) },
    { name: `${prefix}.q_proj.lora_B.weight`, dtype, shape: [WIDTH, RANK], values: valuesWithMean(WIDTH * RANK, 0, seed + 1) },
  ];
  const sink = await safetensorsFormat.create(path.join(dir, peftDirectoryFiles.weights), { tensors, metadata: { format: 'pt' } });
  for (const t of tensors) await sink.write(t.values);
  await sink.commit();
  const config = { peft_type: 'LORA', base_model_name_or_path: 'fake/base', r: RANK, lora_alpha: 2 * RANK, target_modules: ['q_proj'], task_type: 'CAUSAL_LM' };
  writeFileSync(path.join(dir, peftDirectoryFiles.config), `${JSON.stringify(config, null, 2)}\n`);
  return dir;
}

/** question text → correct letter, from a JSONL task file. */
export function answerKey(taskFile: string): Map<string, string> {
  const lines = readFileSync(taskFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
  return new Map(lines.map((l) => JSON.parse(l) as { question: string; answer: string }).map((q) => [q.question, q.answer]));
}
