/**
 * Contract tests of the embedded OpenAI-compatible server through the real `openai` client, against the real
 * SmolLM2-135M model on the CPU (answers are short: max_tokens ≤ 16 almost everywhere).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { APIUserAbortError, BadRequestError, ConflictError, NotFoundError, PermissionDeniedError, type OpenAI } from 'openai';
import { createRandomLora } from '../../llm/gguf-lora-random';
import { SMOLLM2, startTestLlmServer, type TestLlmServer } from './real-server';

const user = (content: string): OpenAI.Chat.ChatCompletionMessageParam[] => [{ role: 'user', content }];

describe('llm server (real SmolLM2, openai client)', function () {
  this.timeout(120_000);
  let t: TestLlmServer;
  let client: OpenAI;

  /** The greedy answer of `model` to `prompt`. */
  async function greedy(prompt: string, maxTokens = 12, model = 'smollm2'): Promise<string> {
    const r = await client.chat.completions.create({ model, messages: user(prompt), max_tokens: maxTokens, temperature: 0 });
    return r.choices[0]?.message.content ?? '';
  }

  /** A raw request, for what the openai client would not send. */
  async function raw(pathname: string, body: string): Promise<{ status: number; json: { error?: { message: string; type: string; code: string | null; param: string | null } } }> {
    const res = await fetch(`${t.server.baseURL}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, json: (await res.json()) as { error?: { message: string; type: string; code: string | null; param: string | null } } };
  }

  const loadLora = (body: Record<string, unknown>) => client.post<{ id: string; parent: string | null; already_loaded: boolean }>('/load_lora_adapter', { body });
  const unloadLora = (name: string) => client.post<{ deleted: boolean }>('/unload_lora_adapter', { body: { lora_name: name } });

  before(async () => {
    t = await startTestLlmServer();
    client = t.client;
  });

  after(async () => {
    await t?.stop();
  });

  it('lists the base model on /v1/models', async () => {
    const page = await client.models.list();
    assert.deepEqual(page.data.map((m) => m.id), ['smollm2']);
    const model = await client.models.retrieve('smollm2');
    assert.equal(model.object, 'model');
  });

  it('answers a chat completion with text and sane usage', async () => {
    const r = await client.chat.completions.create({
      model: 'smollm2',
      messages: [
        { role: 'system', content: 'You are a concise assistant.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
      max_tokens: 16,
      temperature: 0,
    });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, 'smollm2');
    const choice = r.choices[0]!;
    assert.ok((choice.message.content ?? '').trim().length > 0, 'non-empty answer');
    assert.equal(choice.message.role, 'assistant');
    assert.ok(choice.finish_reason === 'stop' || choice.finish_reason === 'length');
    const usage = r.usage!;
    assert.ok(usage.prompt_tokens > 10 && usage.prompt_tokens < 60, `prompt_tokens ${usage.prompt_tokens}`);
    assert.ok(usage.completion_tokens >= 1 && usage.completion_tokens <= 16, `completion_tokens ${usage.completion_tokens}`);
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  });

  it('is deterministic at temperature 0, and with a seed at temperature > 0', async () => {
    assert.equal(await greedy('Name a fruit.'), await greedy('Name a fruit.'));
    const sample = async (seed: number) =>
      (await client.chat.completions.create({ model: 'smollm2', messages: user('Tell me a story.'), max_tokens: 12, temperature: 0.9, seed })).choices[0]?.message.content;
    assert.equal(await sample(7), await sample(7));
  });

  it('respects max_tokens: cut answers end with finish_reason "length"', async () => {
    const r = await client.chat.completions.create({ model: 'smollm2', messages: user('Write a long essay about the ocean.'), max_tokens: 3, temperature: 0 });
    assert.equal(r.choices[0]?.finish_reason, 'length');
    assert.equal(r.usage?.completion_tokens, 3);
  });

  it('stops before a stop string and does not return it', async () => {
    const full = await greedy('Count from 1 to 10, separated by commas.', 16);
    const stop = full.includes('3') ? '3' : full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 2);
    const r = await client.chat.completions.create({ model: 'smollm2', messages: user('Count from 1 to 10, separated by commas.'), max_tokens: 16, temperature: 0, stop: [stop] });
    assert.equal(r.choices[0]?.message.content, full.slice(0, full.indexOf(stop)));
    assert.equal(r.choices[0]?.finish_reason, 'stop');
  });

  it('answers 4 concurrent requests exactly as it answers them one by one', async () => {
    const prompts = ['What is 2 + 3?', 'Name a color.', 'Say hello in French.', 'What is the opposite of hot?'];
    const sequential: string[] = [];
    for (const p of prompts) sequential.push(await greedy(p, 10));
    const concurrent = await Promise.all(prompts.map((p) => greedy(p, 10)));
    assert.deepEqual(concurrent, sequential);
  });

  it('constrains the answer to a JSON schema with response_format', async () => {
    const r = await client.chat.completions.create({
      model: 'smollm2',
      messages: user('Is the sky blue? Answer in JSON.'),
      max_tokens: 24,
      temperature: 0,
      response_format: { type: 'json_schema', json_schema: { name: 'yes_no', schema: { type: 'object', properties: { answer: { enum: ['yes', 'no'] } }, required: ['answer'] } } },
    });
    const parsed = JSON.parse(r.choices[0]?.message.content ?? '') as { answer: string };
    assert.ok(['yes', 'no'].includes(parsed.answer));
  });

  it('answers an unknown model with 404 (NotFoundError) naming the served models', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'gpt-17', messages: user('hi'), max_tokens: 4 }), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.code, 'model_not_found');
      assert.match(e.message, /"gpt-17" does not exist.*"smollm2"/);
      return true;
    });
  });

  it('answers malformed requests with 400 and an OpenAI error body', async () => {
    const badJson = await raw('/chat/completions', '{"model": "smollm2", "messages": [');
    assert.equal(badJson.status, 400);
    assert.equal(badJson.json.error?.code, 'invalid_json');
    assert.equal(badJson.json.error?.type, 'invalid_request_error');
    const noMessages = await raw('/chat/completions', JSON.stringify({ model: 'smollm2' }));
    assert.equal(noMessages.status, 400);
    assert.equal(noMessages.json.error?.param, 'messages');
    await assert.rejects(client.chat.completions.create({ model: 'smollm2', messages: user('hi'), temperature: 5 }), (e: unknown) => {
      assert.ok(e instanceof BadRequestError);
      assert.equal(e.param, 'temperature');
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: 'smollm2', messages: user('hi'), n: 2 }), BadRequestError);
  });

  it('refuses a completion that cannot fit in the context with 400 context_length_exceeded', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'smollm2', messages: user('hi'), max_tokens: 100_000 }), (e: unknown) => {
      assert.ok(e instanceof BadRequestError);
      assert.equal(e.code, 'context_length_exceeded');
      assert.equal(e.param, 'max_tokens');
      return true;
    });
  });

  it('refuses a body over the limit with 413', async () => {
    const huge = JSON.stringify({ model: 'smollm2', messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] });
    const r = await raw('/chat/completions', huge);
    assert.equal(r.status, 413);
    assert.equal(r.json.error?.code, 'body_too_large');
  });

  it('refuses adapter paths outside the roots (403), including through a symlink', async () => {
    await assert.rejects(loadLora({ lora_name: 'evil', lora_path: '/etc/hostname' }), PermissionDeniedError);
    const link = path.join(t.adapterRoot, 'link.gguf');
    fs.symlinkSync('/etc/hostname', link);
    await assert.rejects(loadLora({ lora_name: 'evil', lora_path: link }), PermissionDeniedError);
    await assert.rejects(loadLora({ lora_name: 'evil', lora_path: `${t.adapterRoot}/../etc/hostname` }), BadRequestError);
  });

  it('refuses missing and invalid adapter files with 400 and keeps serving', async () => {
    await assert.rejects(loadLora({ lora_name: 'ghost', lora_path: path.join(t.adapterRoot, 'missing.gguf') }), (e: unknown) => e instanceof BadRequestError && e.code === 'file_not_found');
    const junk = path.join(t.adapterRoot, 'junk.gguf');
    fs.writeFileSync(junk, 'GGUF but not really');
    await assert.rejects(loadLora({ lora_name: 'junk', lora_path: junk }), (e: unknown) => e instanceof BadRequestError && e.code === 'invalid_adapter');
    await assert.rejects(loadLora({ lora_name: 'base-as-lora', lora_path: SMOLLM2 }), (e: unknown) => e instanceof BadRequestError && e.code === 'invalid_adapter');
    assert.ok((await greedy('Name a fruit.', 4)).length > 0);
    assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['smollm2']);
  });

  it('survives a client abort: the generation stops and the next answer is unchanged', async () => {
    const before = await greedy('Name a fruit.');
    const controller = new AbortController();
    const pending = client.chat.completions.create({ model: 'smollm2', messages: user('Write a very long story about dragons.'), max_tokens: 1000, temperature: 0 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 400);
    await assert.rejects(pending, APIUserAbortError);
    assert.equal(await greedy('Name a fruit.'), before);
    const aborted = t.logs.find((l) => l.status === 499);
    assert.ok(aborted !== undefined, 'the server logged the abort');
    assert.ok(typeof aborted.ms === 'number' && aborted.ms < 5_000, `the generation stopped early (${String(aborted.ms)} ms)`);
  });

  describe('LoRA adapters', () => {
    let fileA: string;

    before(async () => {
      fileA = path.join(t.adapterRoot, 'expert-a.gguf');
      await createRandomLora(SMOLLM2, fileA, { rank: 8, seed: 1 });
    });

    it('loads an adapter that changes greedy answers; scale 0 leaves them as the base', async () => {
      const loaded = await loadLora({ lora_name: 'expert-a', lora_path: fileA });
      assert.equal(loaded.id, 'expert-a');
      assert.equal(loaded.parent, 'smollm2');
      assert.equal(loaded.already_loaded, false);
      const models = (await client.models.list()).data.map((m) => m.id);
      assert.deepEqual(models, ['smollm2', 'expert-a']);
      const prompts = ['Name a fruit.', 'What is the capital of France?'];
      const base = await Promise.all(prompts.map((p) => greedy(p)));
      const adapted = await Promise.all(prompts.map((p) => greedy(p, 12, 'expert-a')));
      assert.notDeepEqual(adapted, base);
      await loadLora({ lora_name: 'expert-a-off', lora_path: fileA, scale: 0 });
      assert.equal(await greedy(prompts[0]!, 12, 'expert-a-off'), base[0]);
      await unloadLora('expert-a-off');
    });

    it('serves the base and an adapter concurrently with the answers it gives one by one', async () => {
      const jobs: [string, string][] = [
        ['smollm2', 'Name a fruit.'],
        ['expert-a', 'Name a fruit.'],
        ['smollm2', 'Say hello.'],
        ['expert-a', 'Say hello.'],
      ];
      const sequential: string[] = [];
      for (const [model, prompt] of jobs) sequential.push(await greedy(prompt, 8, model));
      assert.deepEqual(await Promise.all(jobs.map(([model, prompt]) => greedy(prompt, 8, model))), sequential);
    });

    it('refuses a truncated adapter with 400 before llama.cpp reads it', async () => {
      const truncated = path.join(t.adapterRoot, 'truncated.gguf');
      const bytes = fs.readFileSync(fileA);
      fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await assert.rejects(loadLora({ lora_name: 'truncated', lora_path: truncated }), (e: unknown) => e instanceof BadRequestError && e.code === 'invalid_adapter');
    });

    it('is idempotent for the same load, 409 for a different one under a taken name', async () => {
      assert.equal((await loadLora({ lora_name: 'expert-a', lora_path: fileA })).already_loaded, true);
      await assert.rejects(loadLora({ lora_name: 'expert-a', lora_path: fileA, scale: 0.5 }), ConflictError);
      await assert.rejects(loadLora({ lora_name: 'smollm2', lora_path: fileA }), ConflictError);
    });

    it('unloads: the name disappears, a second unload is 404, and a rewritten file is read afresh', async () => {
      const before = await greedy('Name a fruit.', 12, 'expert-a');
      await createRandomLora(SMOLLM2, fileA, { rank: 8, seed: 2 });
      await assert.rejects(loadLora({ lora_name: 'expert-b', lora_path: fileA }), (e: unknown) => e instanceof ConflictError && e.code === 'adapter_file_changed');
      assert.equal((await unloadLora('expert-a')).deleted, true);
      assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['smollm2']);
      await assert.rejects(greedy('Name a fruit.', 4, 'expert-a'), NotFoundError);
      await assert.rejects(unloadLora('expert-a'), NotFoundError);
      await loadLora({ lora_name: 'expert-b', lora_path: fileA });
      assert.notEqual(await greedy('Name a fruit.', 12, 'expert-b'), before);
      await unloadLora('expert-b');
    });
  });

  describe('shutdown (last: it closes the shared server)', () => {
    it('is graceful: the request in flight completes, new connections are refused', async () => {
      const inFlight = greedy('Write a poem about the sea.', 16);
      await new Promise((r) => setTimeout(r, 100));
      const closed = t.server.close(30_000);
      assert.ok((await inFlight).length > 0);
      await closed;
      await assert.rejects(fetch(`${t.server.baseURL}/models`));
    });
  });
});
