import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCachedLlm, EvaluationStopped, requestCacheKey } from '../../activities/cached-llm';
import type { CachedCall, CallCache } from '../../activities/call-cache';
import { createKeyedLimiter } from '../../activities/limiter';
import type { ChatRequest, LlmClient } from '../../activities/llm-client';

function memoryCache(): CallCache & { entries: Map<string, CachedCall> } {
  const entries = new Map<string, CachedCall>();
  return {
    entries,
    get: (key) => Promise.resolve(entries.get(key)),
    put: (key, value) => {
      entries.set(key, value);
      return Promise.resolve();
    },
    assertWritable: () => Promise.resolve(),
  };
}

const req = (content: string): ChatRequest => ({
  endpoint: { id: 'a', baseURL: 'http://127.0.0.1:9/v1', model: 'm' },
  messages: [{ role: 'user', content }],
  maxTokens: 5,
  temperature: 0,
  timeoutMs: 1000,
});

describe('requestCacheKey', () => {
  it('changes with the adapter hash, so a changed adapter never hits a stale entry', () => {
    const base = req('q');
    const v1 = { ...base, endpoint: { ...base.endpoint, adapterSha256: 'a'.repeat(64) } };
    const v2 = { ...base, endpoint: { ...base.endpoint, adapterSha256: 'b'.repeat(64) } };
    assert.notEqual(requestCacheKey(v1), requestCacheKey(base));
    assert.notEqual(requestCacheKey(v1), requestCacheKey(v2));
    assert.equal(requestCacheKey(v1), requestCacheKey({ ...v1, timeoutMs: 5 }), 'the timeout does not change the answer');
  });
});

describe('cached-llm', () => {
  it('miss → call and store; hit → no call', async () => {
    const sent: string[] = [];
    const llm: LlmClient = {
      complete: (r) => {
        sent.push(r.messages[0]!.content);
        return Promise.resolve({ text: `answer to ${r.messages[0]!.content}`, promptTokens: 3, completionTokens: 2, finishReason: 'stop' });
      },
    };
    const cache = memoryCache();
    const cached = createCachedLlm({ llm, cache, limiter: createKeyedLimiter() });
    assert.equal((await cached.complete(req('q'), 1)).source, 'call');
    const again = await cached.complete(req('q'), 1);
    assert.equal(again.source, 'cache');
    assert.equal(again.response.text, 'answer to q');
    assert.deepEqual(sent, ['q']);
    assert.equal(cache.entries.size, 1);
  });

  it('a stopped evaluation does not send calls waiting for a slot; a joined caller sends its own', async () => {
    let release: () => void = () => undefined;
    const sent: string[] = [];
    const llm: LlmClient = {
      complete: async (r) => {
        sent.push(r.messages[0]!.content);
        if (r.messages[0]!.content === 'blocker') await new Promise<void>((resolve) => (release = resolve));
        return { text: 'ok', promptTokens: 1, completionTokens: 1, finishReason: 'stop' };
      },
    };
    const cached = createCachedLlm({ llm, cache: memoryCache(), limiter: createKeyedLimiter() });
    const blocker = cached.complete(req('blocker'), 1);
    await sleep(5);
    const stopA = new AbortController();
    const a = cached.complete(req('q'), 1, { stop: stopA.signal });
    await sleep(5);
    const b = cached.complete(req('q'), 1, { stop: new AbortController().signal });
    await sleep(5);
    stopA.abort();
    release();
    await assert.rejects(a, EvaluationStopped);
    const answered = await b;
    assert.equal(answered.response.text, 'ok');
    assert.equal(answered.source, 'call', 'b had to send the call itself');
    assert.equal((await blocker).source, 'call');
    assert.deepEqual(sent, ['blocker', 'q']);
  });
});
