import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { callCacheKey, createFsCallCache, type CachedCall, type CallKeyParts } from '../../activities/call-cache';
import { FailureType } from '../../workflows/core/errors';
import { tmpDirs } from './tmp-dir';

const parts: CallKeyParts = {
  baseURL: 'http://127.0.0.1:8080/v1',
  model: 'fake-a',
  messages: [{ role: 'user', content: 'Please answer the following question.\nQuestion: 2+2?' }],
  params: { maxTokens: 50, temperature: 0 },
};
const value: CachedCall = { text: 'B', promptTokens: 12, completionTokens: 1, finishReason: 'stop' };

describe('call-cache', () => {
  const dirs = tmpDirs('cache');
  after(() => dirs.cleanup());

  it('key: 64 hex, stable under key order, sensitive to every part', () => {
    const key = callCacheKey(parts);
    assert.match(key, /^[0-9a-f]{64}$/);
    const reordered: CallKeyParts = { params: { temperature: 0, maxTokens: 50 }, messages: parts.messages, model: 'fake-a', baseURL: parts.baseURL };
    assert.equal(callCacheKey(reordered), key);
    assert.equal(callCacheKey({ ...parts, adapter: undefined }), key, 'undefined adapter = no adapter');
    assert.equal(callCacheKey({ ...parts, baseURL: `${parts.baseURL}/` }), key, 'trailing slash ignored');
    const variants: CallKeyParts[] = [
      { ...parts, baseURL: 'http://127.0.0.1:8081/v1' },
      { ...parts, model: 'fake-b' },
      { ...parts, adapter: 'sha256:00' },
      { ...parts, messages: [{ role: 'user', content: 'Please answer the following question.\nQuestion: 2+3?' }] },
      { ...parts, messages: [{ role: 'system', content: parts.messages[0]!.content }] },
      { ...parts, messages: [...parts.messages, { role: 'user', content: '' }] },
      { ...parts, params: { maxTokens: 51, temperature: 0 } },
      { ...parts, params: { maxTokens: 50, temperature: 0.7 } },
      { ...parts, params: { maxTokens: 50, temperature: 0, topP: 0.9 } },
    ];
    const keys = new Set(variants.map(callCacheKey));
    assert.equal(keys.size, variants.length);
    assert.ok(!keys.has(key));
  });

  it('put then get; a missing key is a miss', async () => {
    const dir = await dirs.make();
    const cache = createFsCallCache(dir);
    const key = callCacheKey(parts);
    assert.equal(await cache.get(key), undefined);
    await cache.put(key, value);
    assert.deepEqual(await cache.get(key), value);
    assert.deepEqual(await createFsCallCache(dir).get(key), value, 'visible to another instance (another process)');
    assert.ok(fs.existsSync(path.join(dir, key.slice(0, 2), `${key}.json`)));
  });

  it('a corrupt or partial file is a miss and is overwritten', async () => {
    const dir = await dirs.make();
    const cache = createFsCallCache(dir);
    const key = callCacheKey(parts);
    await cache.put(key, value);
    const file = path.join(dir, key.slice(0, 2), `${key}.json`);
    const full = await readFile(file, 'utf8');
    await writeFile(file, full.slice(0, 20));
    assert.equal(await cache.get(key), undefined);
    await writeFile(file, JSON.stringify({ v: 1, key: 'f'.repeat(64), ...value }));
    assert.equal(await cache.get(key), undefined, 'an entry for another key is a miss');
    await cache.put(key, { ...value, text: 'C' });
    assert.equal((await cache.get(key))?.text, 'C');
  });

  it('concurrent puts of the same key leave one whole entry and no temp files', async () => {
    const dir = await dirs.make();
    const key = callCacheKey(parts);
    await Promise.all(Array.from({ length: 25 }, () => createFsCallCache(dir).put(key, value)));
    assert.deepEqual(await createFsCallCache(dir).get(key), value);
    assert.deepEqual(await readdir(path.join(dir, key.slice(0, 2))), [`${key}.json`]);
  });

  it('rejects malformed keys', async () => {
    const cache = createFsCallCache(await dirs.make());
    await assert.rejects(cache.get('../../etc/passwd'), RangeError);
  });

  it('ENOSPC on write → retryable StoreUnavailable', async () => {
    const cache = createFsCallCache(await dirs.make());
    const original = fs.promises.open;
    fs.promises.open = (() => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })));
    try {
      await assert.rejects(cache.put(callCacheKey(parts), value), (e: unknown) => {
        assert.ok(e instanceof ApplicationFailure);
        assert.equal(e.type, FailureType.StoreUnavailable);
        assert.equal(e.nonRetryable, false);
        assert.match(e.message, /ENOSPC/);
        return true;
      });
    } finally {
      fs.promises.open = original;
    }
  });

  it('assertWritable: passes on a writable store and leaves nothing behind; ENOSPC → retryable StoreUnavailable', async () => {
    const dir = await dirs.make();
    const cache = createFsCallCache(dir);
    await cache.assertWritable();
    assert.deepEqual(fs.readdirSync(dir), [], 'the probe file is removed');
    const original = fs.promises.open;
    fs.promises.open = (() => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })));
    try {
      await assert.rejects(cache.assertWritable(), (e: unknown) => e instanceof ApplicationFailure && e.type === FailureType.StoreUnavailable && e.nonRetryable === false && /ENOSPC/.test(e.message));
    } finally {
      fs.promises.open = original;
    }
  });
});
