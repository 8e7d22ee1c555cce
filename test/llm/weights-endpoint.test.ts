/**
 * The weight activities' runtime-LoRA client against the real embedded `hs llm serve` (SmolLM2): publish,
 * publish again (already loaded), unload, unload again (absent). Lives with the other real-server tests.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { createHttpAdapterEndpoint } from '../../activities/adapter-endpoint';
import { createFsBlobStore } from '../../activities/blob-store';
import { createWeightActivities } from '../../activities/weights';
import { createRandomLora } from '../../llm/gguf-lora-random';
import { ModelSpecSchema } from '../../workflows/core/config';
import { tmpDirs } from '../activities/tmp-dir';
import { SMOLLM2, startTestLlmServer, type TestLlmServer } from './real-server';

describe('weight activities against the embedded hs llm serve (real SmolLM2)', function () {
  this.timeout(120_000);
  const dirs = tmpDirs('weights-real');
  let t: TestLlmServer;
  before(async () => {
    t = await startTestLlmServer();
  });
  after(async () => {
    await t?.stop();
    await dirs.cleanup();
  });

  it('publishes, republishes (already loaded), unloads, and unloads again (absent ⇒ 0)', async () => {
    const root = await dirs.make();
    await createRandomLora(SMOLLM2, path.join(root, 'expert.gguf'), { rank: 4, seed: 3 });
    const acts = createWeightActivities({
      blobs: createFsBlobStore(path.join(root, 'store')),
      adapterEndpoint: createHttpAdapterEndpoint({ apiKey: () => undefined }),
      dataRoot: root,
      exportDir: t.adapterRoot,
    });
    const model = ModelSpecSchema.parse({ id: 'expert', baseURL: t.server.baseURL, model: 'smollm2', adapter: { path: 'expert.gguf', format: 'gguf', base: 'smollm2' } });
    const version = await acts.importAdapter({ model });
    const { served } = await acts.publishAdapter({ model, version });
    assert.equal(served, `expert@${version.sha256.slice(0, 12)}`);
    assert.ok((await t.client.models.list()).data.some((m) => m.id === served), 'the version is served');
    assert.deepEqual(await acts.publishAdapter({ model, version }), { served });
    assert.deepEqual(await acts.unloadAdapters({ model, names: [served] }), { unloaded: 1 });
    assert.ok(!(await t.client.models.list()).data.some((m) => m.id === served), 'the version is gone');
    // Unloading a version the server does not have (e.g. after a restart of the server) is not an error.
    assert.deepEqual(await acts.unloadAdapters({ model, names: [served] }), { unloaded: 0 });
  });
});
