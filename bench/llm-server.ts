/**
 * Benchmark: the embedded OpenAI-compatible server (through the real `openai` client, concurrency 1 and 4)
 * against node-llama-cpp called directly in the same process (LlamaChat on one context sequence, chat wrapper
 * resolved once, sequence cleared per prompt), on the same 16 short chat prompts, max_tokens 32, temperature 0.
 * Rounds are interleaved (direct, server c1, server c4, …) so that load from other processes hits all modes
 * alike; medians are reported. Goal: server/direct ≥ 0.9.
 *
 *   node --require tsx/cjs bench/llm-server.ts [--rounds 3] [--threads N] [--sequences 1]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { createLlamaEngine } from '../llm/engine';
import { defaultThreads, getCpuLlama, loadNodeLlamaCpp } from '../llm/node-llama';
import { startLlmServer } from '../llm/server';

const MODEL = path.resolve(__dirname, '..', '.models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const MAX_TOKENS = 32;
const PROMPTS = [
  'What is 7 + 5?',
  'Name a primary color.',
  'What is the capital of Italy?',
  'Give a synonym for happy.',
  'What is 9 times 3?',
  'Name a planet in the solar system.',
  'What do bees make?',
  'Translate "thank you" into Spanish.',
  'What is the boiling point of water in Celsius?',
  'Name a mammal that can fly.',
  'What is the opposite of cold?',
  'How many days are in a week?',
  'What is the largest ocean?',
  'Name a musical instrument with strings.',
  'What gas do plants absorb?',
  'What is 15 minus 4?',
];

interface Run {
  texts: string[];
  tokens: number;
  ms: number;
}

/** Runs `one` over all prompts with `concurrency` workers. */
async function runAll(concurrency: number, one: (prompt: string) => Promise<{ text: string; tokens: number }>): Promise<Run> {
  const texts: string[] = new Array<string>(PROMPTS.length).fill('');
  let tokens = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < PROMPTS.length; i = next++) {
        const r = await one(PROMPTS[i]!);
        texts[i] = r.text;
        tokens += r.tokens;
      }
    }),
  );
  return { texts, tokens, ms: performance.now() - started };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, threads: { type: 'string', default: String(defaultThreads()) }, sequences: { type: 'string', default: '1' } } });
  const rounds = Number(values.rounds);
  const threads = Number(values.threads);
  const sequences = Number(values.sequences);

  // Direct: node-llama-cpp as a program would use it.
  const nlc = await loadNodeLlamaCpp();
  const llama = await getCpuLlama(threads);
  const model = await llama.loadModel({ modelPath: MODEL });
  const context = await model.createContext({ contextSize: 2048, sequences: 1, threads });
  const sequence = context.getSequence();
  const chatWrapper = nlc.resolveChatWrapper(model);
  const direct = async (prompt: string): Promise<{ text: string; tokens: number }> => {
    await sequence.clearHistory();
    const chat = new nlc.LlamaChat({ contextSequence: sequence, chatWrapper });
    const before = sequence.tokenMeter.getState();
    const r = await chat.generateResponse([{ type: 'user', text: prompt }, { type: 'model', response: [] }], { maxTokens: MAX_TOKENS, temperature: 0, repeatPenalty: false });
    chat.dispose();
    return { text: r.response, tokens: sequence.tokenMeter.diff(before).usedOutputTokens };
  };

  // Server: the engine behind HTTP, through the openai client.
  const engine = await createLlamaEngine({ models: [{ name: 'smollm2', path: MODEL }], roots: [path.dirname(MODEL)], threads, sequencesPerContext: sequences });
  const server = await startLlmServer({ engine, port: 0 });
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
  const viaServer = async (prompt: string): Promise<{ text: string; tokens: number }> => {
    const r = await client.chat.completions.create({ model: 'smollm2', messages: [{ role: 'user', content: prompt }], max_tokens: MAX_TOKENS, temperature: 0 });
    return { text: r.choices[0]?.message.content ?? '', tokens: r.usage?.completion_tokens ?? 0 };
  };

  const modes = {
    'direct c1': () => runAll(1, direct),
    'server c1': () => runAll(1, viaServer),
    'server c4': () => runAll(4, viaServer),
  } as const;
  type Mode = keyof typeof modes;
  const results: Record<Mode, Run[]> = { 'direct c1': [], 'server c1': [], 'server c4': [] };

  await runAll(1, direct); // warm-up: page in the weights, create the server's context
  await runAll(1, viaServer);
  for (let round = 0; round < rounds; round++) {
    for (const mode of Object.keys(modes) as Mode[]) results[mode].push(await modes[mode]());
  }

  const reference = results['direct c1'][0]!.texts;
  console.log(`SmolLM2-135M Q4_1, ${PROMPTS.length} prompts × max_tokens ${MAX_TOKENS}, temperature 0, threads ${threads}, sequences/context ${sequences}, ${rounds} interleaved rounds (median)`);
  const rate = (runs: Run[], per: (r: Run) => number): number => median(runs.map(per));
  const tokPerS = (r: Run): number => (r.tokens / r.ms) * 1000;
  const reqPerS = (r: Run): number => (PROMPTS.length / r.ms) * 1000;
  const directTok = rate(results['direct c1'], tokPerS);
  for (const mode of Object.keys(modes) as Mode[]) {
    const runs = results[mode];
    const same = runs.every((r) => r.texts.every((t, i) => t === reference[i]));
    const tps = rate(runs, tokPerS);
    console.log(
      `${mode.padEnd(10)} ${tps.toFixed(1).padStart(6)} tokens/s  ${rate(runs, reqPerS).toFixed(2).padStart(5)} requests/s  ratio vs direct ${(tps / directTok).toFixed(2)}  runs ${runs.map((r) => tokPerS(r).toFixed(1)).join(' / ')}  outputs ${same ? 'identical to direct' : 'DIFFER from direct'}`,
    );
  }

  await server.close();
  await engine.close();
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
