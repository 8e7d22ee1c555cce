import assert from 'node:assert/strict';
import type { ModelSpec } from '../../workflows/core/config';
import { FailureType } from '../../workflows/core/errors';
import { createOpenAiLlmClient, isModelCallError, parseRetryAfterMs, type ChatRequest, type ModelCallError } from '../../activities/llm-client';
import { startFakeOpenAi, type FakeOpenAi } from '../helpers/fake-openai';

describe('llm-client (OpenAI SDK against the fake server)', () => {
  let fake: FakeOpenAi;
  const env: Record<string, string> = { FAKE_KEY: 'sk-test-secret-1234' };
  const client = createOpenAiLlmClient({ apiKey: (name) => (name === undefined ? undefined : env[name]) });

  const request = (overrides: Partial<ModelSpec> = {}, timeoutMs = 5000): ChatRequest => ({
    endpoint: { id: 'm', baseURL: fake.baseURL, model: 'fake-m', ...overrides },
    messages: [{ role: 'user', content: 'Question: say hi' }],
    maxTokens: 16,
    temperature: 0,
    timeoutMs,
  });

  const failure = async (req: ChatRequest, signal?: AbortSignal): Promise<ModelCallError> => {
    try {
      await client.complete(req, signal);
    } catch (error) {
      if (isModelCallError(error)) return error;
      throw error;
    }
    assert.fail('expected the call to fail');
  };

  before(async () => {
    fake = await startFakeOpenAi({ respond: () => 'hello there' });
  });
  after(async () => {
    await fake.close();
  });
  afterEach(() => {
    fake.setFail(undefined);
    fake.reset();
  });

  it('returns text, tokens and finish reason, and sends the request parameters', async () => {
    const res = await client.complete(request());
    assert.deepEqual(res, { text: 'hello there', promptTokens: 3, completionTokens: 2, finishReason: 'stop' });
    const [sent] = fake.requests;
    assert.equal(sent?.model, 'fake-m');
    assert.equal(sent?.maxTokens, 16);
    assert.equal(sent?.temperature, 0);
    assert.deepEqual(sent?.messages, [{ role: 'user', content: 'Question: say hi' }]);
    assert.equal(sent?.authorization, 'Bearer unused', 'placeholder key without apiKeyEnv');
  });

  it('sends the key from the named environment variable; a missing variable is an Auth failure', async () => {
    await client.complete(request({ apiKeyEnv: 'FAKE_KEY' }));
    assert.equal(fake.requests[0]?.authorization, 'Bearer sk-test-secret-1234');
    const error = await failure(request({ apiKeyEnv: 'MISSING_KEY' }));
    assert.equal(error.type, FailureType.ModelAuth);
    assert.match(error.message, /MISSING_KEY is not set/);
    assert.equal(fake.requests.length, 1, 'nothing sent without a key');
  });

  const cases: [number, FailureType][] = [
    [400, FailureType.ModelBadRequest],
    [401, FailureType.ModelAuth],
    [403, FailureType.ModelAuth],
    [404, FailureType.ModelNotFound],
    [408, FailureType.ModelTimeout],
    [409, FailureType.ModelServerError],
    [422, FailureType.ModelBadRequest],
    [429, FailureType.ModelRateLimit],
    [500, FailureType.ModelServerError],
    [503, FailureType.ModelServerError],
  ];
  for (const [status, type] of cases) {
    it(`HTTP ${status} → ${type}, sent once (no SDK retries)`, async () => {
      fake.setFail(() => ({ status }));
      const error = await failure(request());
      assert.equal(error.type, type);
      assert.equal(error.status, status);
      assert.equal(error.retryAfterMs, undefined);
      assert.match(error.message, new RegExp(`HTTP ${status}`));
      assert.equal(fake.requests.length, 1);
    });
  }

  it('429 with retry-after seconds gives retryAfterMs', async () => {
    fake.setFail(() => ({ status: 429, headers: { 'retry-after': '3' } }));
    const error = await failure(request());
    assert.equal(error.type, FailureType.ModelRateLimit);
    assert.equal(error.retryAfterMs, 3000);
  });

  it('503 with retry-after-ms gives retryAfterMs', async () => {
    fake.setFail(() => ({ status: 503, headers: { 'retry-after-ms': '1500' } }));
    const error = await failure(request());
    assert.equal(error.type, FailureType.ModelServerError);
    assert.equal(error.retryAfterMs, 1500);
  });

  it('parses retry-after as seconds, HTTP date or milliseconds', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfterMs({ 'retry-after': '2.5' }, now), 2500);
    assert.equal(parseRetryAfterMs({ 'retry-after': 'Wed, 01 Jan 2025 00:00:10 GMT' }, now), 10_000);
    assert.equal(parseRetryAfterMs({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }, now), 0);
    assert.equal(parseRetryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, now), 250);
    assert.equal(parseRetryAfterMs({ 'retry-after': 'soon' }, now), undefined);
    assert.equal(parseRetryAfterMs(undefined, now), undefined);
  });

  it('connection reset → Network', async () => {
    fake.setFail(() => 'reset');
    const error = await failure(request());
    assert.equal(error.type, FailureType.ModelNetwork);
    assert.equal(error.status, undefined);
  });

  it('connection refused → Network', async () => {
    const error = await failure(request({ baseURL: 'http://127.0.0.1:1/v1' }));
    assert.equal(error.type, FailureType.ModelNetwork);
  });

  it('a stalled endpoint → Timeout after timeoutMs', async () => {
    fake.setFail(() => ({ delayMs: 10_000 }));
    const started = Date.now();
    const error = await failure(request({}, 300));
    assert.equal(error.type, FailureType.ModelTimeout);
    assert.ok(Date.now() - started < 5000);
  });

  it('an aborted signal rejects with its reason, not a ModelCallError', async () => {
    fake.setFail(() => ({ delayMs: 10_000 }));
    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    setTimeout(() => controller.abort(reason), 100);
    await assert.rejects(client.complete(request(), controller.signal), (e) => e === reason);
  });

  it('empty choices or missing content is an empty answer, not an error', async () => {
    fake.setFail(() => ({ status: 200, body: { id: 'x', object: 'chat.completion', created: 1, model: 'fake-m', choices: [] } }));
    assert.deepEqual(await client.complete(request()), { text: '', promptTokens: 0, completionTokens: 0, finishReason: null });
    fake.setFail(() => ({
      status: 200,
      body: { id: 'x', object: 'chat.completion', created: 1, model: 'fake-m', choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'length' }] },
    }));
    const res = await client.complete(request());
    assert.equal(res.text, '');
    assert.equal(res.finishReason, 'length');
  });

  it('a 200 that is not a chat completion → NotFound (wrong baseURL)', async () => {
    fake.setFail(() => ({ status: 200, body: 'hello, I am a web page' }));
    const error = await failure(request());
    assert.equal(error.type, FailureType.ModelNotFound);
    assert.match(error.message, /baseURL/);
  });

  it('never puts the API key in an error message', async () => {
    fake.setFail(() => ({ status: 401, body: { error: { message: 'Incorrect API key provided: sk-test-secret-1234', type: 'invalid_request_error', code: 'invalid_api_key' } } }));
    const error = await failure(request({ apiKeyEnv: 'FAKE_KEY' }));
    assert.equal(error.type, FailureType.ModelAuth);
    assert.doesNotMatch(error.message, /sk-test-secret-1234/);
    assert.doesNotMatch(error.stack ?? '', /sk-test-secret-1234/);
  });
});
