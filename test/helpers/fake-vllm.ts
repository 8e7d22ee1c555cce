/**
 * A fake vLLM for weight-step tests: the fake OpenAI server plus vLLM's runtime LoRA API
 * (`POST /v1/load_lora_adapter`, `POST /v1/unload_lora_adapter`), whose answers depend on the CONTENT of the
 * adapter behind the requested model name — so moving adapter weights demonstrably moves scores.
 *
 * Each loaded adapter has a skill s ∈ [0, 1] = clamp(0.5 + SKILL_GAIN · mean(first tensor)), a linear function
 * of the weights. A question is answered correctly iff u(question) < s, with u a hash of the question in
 * [0, 1) that is the same for every model (so a more skilled adapter is right on a superset of questions);
 * otherwise the answer is a wrong option letter. Models without an adapter answer `defaultAnswer`.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { weightsFormat } from '../../adapters/formats';
import { peftDirectoryFiles } from '../../adapters/peft';
import { defaultAnswer, optionLetters, questionOf, startFakeOpenAi, type FakeOpenAi } from './fake-openai';

/** Skill per unit of mean weight of the first tensor. */
export const SKILL_GAIN = 10;

/** The weights mean that gives `skill` (for building test adapters). */
export const meanForSkill = (skill: number): number => (skill - 0.5) / SKILL_GAIN;

export interface LoadedAdapter {
  path: string;
  base: string | undefined;
  skill: number;
}

export interface FakeVllm extends FakeOpenAi {
  /** Adapters loaded now, by served name. */
  loaded: Map<string, LoadedAdapter>;
  /** Every load / unload request, in order. */
  loads: { name: string; path: string; base: string | undefined }[];
  unloads: string[];
  /** Called after every successful load (e.g. to simulate a restart at a chosen moment). */
  onLoad: ((name: string) => void) | undefined;
  /** Forgets every adapter loaded at run time, as a restarted vLLM does; returns how many. */
  forgetLoaded(): number;
}

/** Skill of the adapter at `file` (a GGUF file or a PEFT directory). */
export async function adapterSkill(file: string): Promise<number> {
  const isDir = statSync(file).isDirectory();
  const format = weightsFormat(isDir ? 'peft' : 'gguf');
  const source = await format.open(isDir ? path.join(file, peftDirectoryFiles.weights) : file);
  try {
    const first = source.layout.tensors[0];
    if (first === undefined) return 0.5;
    const values = await source.read(first.name);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.min(1, Math.max(0, 0.5 + SKILL_GAIN * mean));
  } finally {
    await source.close();
  }
}

const uniform = (text: string): number => createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;

/**
 * Starts the fake. `answers` maps each question text to its correct letter; `initial` pre-loads adapters
 * (served name → file), as `vllm serve --lora-modules` would.
 */
export async function startFakeVllm(options: { answers: ReadonlyMap<string, string>; initial?: Record<string, string> }): Promise<FakeVllm> {
  const loaded = new Map<string, LoadedAdapter>();
  const loads: FakeVllm['loads'] = [];
  const unloads: string[] = [];
  for (const [name, file] of Object.entries(options.initial ?? {})) loaded.set(name, { path: file, base: undefined, skill: await adapterSkill(file) });

  const preloaded = new Set(Object.keys(options.initial ?? {}));
  const fake = await startFakeOpenAi({
    // vLLM answers 404 for a model name it does not serve; names without "@" stay open for fixed models.
    fail: (req) =>
      req.model.includes('@') && !loaded.has(req.model)
        ? { status: 404, body: { object: 'error', message: `The model \`${req.model}\` does not exist.`, type: 'NotFoundError', code: 404 } }
        : undefined,
    respond: (req) => {
      const adapter = loaded.get(req.model);
      if (adapter === undefined) return defaultAnswer(req.model, req.prompt);
      const question = questionOf(req.prompt);
      const right = options.answers.get(question);
      const letters = optionLetters(req.prompt);
      if (right === undefined || letters.length === 0) return defaultAnswer(req.model, req.prompt);
      if (uniform(question) < adapter.skill) return right;
      return letters.find((l) => l !== right) ?? right;
    },
    routes: {
      'POST /v1/load_lora_adapter': async (body) => {
        const b = body as { lora_name?: string; lora_path?: string; base_model_name?: string };
        if (typeof b.lora_name !== 'string' || typeof b.lora_path !== 'string') return { status: 400, body: { error: { message: 'lora_name and lora_path are required' } } };
        loads.push({ name: b.lora_name, path: b.lora_path, base: b.base_model_name });
        if (loaded.has(b.lora_name)) return { status: 400, body: { error: { message: `The lora adapter '${b.lora_name}' has already been loaded.` } } };
        loaded.set(b.lora_name, { path: b.lora_path, base: b.base_model_name, skill: await adapterSkill(b.lora_path) });
        vllm.onLoad?.(b.lora_name);
        return { status: 200, body: `Success: LoRA adapter '${b.lora_name}' added successfully.` };
      },
      'POST /v1/unload_lora_adapter': (body) => {
        const name = (body as { lora_name?: string }).lora_name ?? '';
        unloads.push(name);
        if (!loaded.delete(name)) return { status: 404, body: { error: { message: `The lora adapter '${name}' cannot be found.` } } };
        return { status: 200, body: `Success: LoRA adapter '${name}' removed successfully.` };
      },
    },
  });
  const vllm: FakeVllm = Object.assign(fake, {
    loaded,
    loads,
    unloads,
    onLoad: undefined as FakeVllm['onLoad'],
    forgetLoaded: () => {
      const runtime = [...loaded.keys()].filter((name) => !preloaded.has(name));
      runtime.forEach((name) => loaded.delete(name));
      return runtime.length;
    },
  });
  return vllm;
}
