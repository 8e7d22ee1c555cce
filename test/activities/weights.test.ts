/**
 * The weight-step activities on a real temporary blob store, with a fake AdapterEndpoint recording calls;
 * the HTTP AdapterEndpoint against a scripted node:http server (the embedded `hs llm serve`: test/llm).
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { ggufFormat } from '../../adapters/gguf-tensors';
import { safetensorsFormat } from '../../adapters/safetensors';
import type { TensorFileFormat, TensorLayout } from '../../adapters/tensor-file';
import { psoUpdateTensors, velocityTowards } from '../../adapters/tensor-pso';
import { createHttpAdapterEndpoint, type AdapterEndpoint, type LoadAdapterRequest } from '../../activities/adapter-endpoint';
import { BlobCorruptError, createFsBlobStore, type BlobStore } from '../../activities/blob-store';
import { ModelCallError } from '../../activities/llm-client';
import { createWeightActivities, type WeightDeps } from '../../activities/weights';
import { LlmError } from '../../llm/errors';
import { writeLoraAdapter } from '../../llm/gguf-lora';
import { ModelSpecSchema, type ModelSpec } from '../../workflows/core/config';
import { psoWeights } from '../../workflows/core/pso';
import { createRng } from '../../workflows/core/rng';
import type { ModelVersion } from '../../workflows/core/state';
import type { WeightUpdatePlan } from '../../workflows/core/weight-swarm';
import { tmpDirs } from './tmp-dir';

// ------------------------------------------------------------------------------------------------- fixtures

const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const sha256File = async (file: string): Promise<string> => sha256Of(await readFile(file));

function randomValues(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 0.2);
}

/** A rank-2 GGUF LoRA adapter over two projections. */
async function writeGgufAdapter(file: string, seed: number): Promise<string> {
  return writeLoraAdapter(file, {
    architecture: 'llama',
    alpha: 4,
    rank: 2,
    tensors: [
      { name: 'blk.0.attn_q.weight', a: randomValues(8 * 2, seed * 10 + 1), b: randomValues(2 * 8, seed * 10 + 2), aDims: [8, 2], bDims: [2, 8] },
      { name: 'blk.0.attn_v.weight', a: randomValues(8 * 2, seed * 10 + 3), b: randomValues(2 * 4, seed * 10 + 4), aDims: [8, 2], bDims: [2, 4] },
    ],
  });
}

const PEFT_CONFIG = {
  peft_type: 'LORA',
  base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M-Instruct',
  r: 2,
  lora_alpha: 4,
  target_modules: ['q_proj', 'v_proj'],
  task_type: 'CAUSAL_LM',
};
const PEFT_LAYOUT: TensorLayout = {
  tensors: [
    { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', dtype: 'F32', shape: [2, 8] },
    { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', dtype: 'F32', shape: [8, 2] },
    { name: 'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight', dtype: 'F32', shape: [2, 8] },
    { name: 'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight', dtype: 'F32', shape: [4, 2] },
  ],
  metadata: { format: 'pt' },
};

/** A PEFT adapter directory (adapter_config.json + adapter_model.safetensors); returns the weights file. */
async function writePeftAdapter(dir: string, seed: number, config: object = PEFT_CONFIG): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'adapter_config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const weights = path.join(dir, 'adapter_model.safetensors');
  const sink = await safetensorsFormat.create(weights, PEFT_LAYOUT);
  for (const [i, t] of PEFT_LAYOUT.tensors.entries()) await sink.write(randomValues(t.shape.reduce((a, b) => a * b, 1), seed * 10 + i));
  await sink.commit();
  return weights;
}

function modelSpec(id: string, adapter: { path: string; format: 'gguf' | 'peft'; base?: string } | undefined, extra: Partial<ModelSpec> = {}): ModelSpec {
  return ModelSpecSchema.parse({
    id,
    baseURL: 'http://127.0.0.1:9/v1',
    model: `${id}-served`,
    ...(adapter === undefined ? {} : { adapter: { base: 'smol-base', ...adapter } }),
    ...extra,
  });
}

/** An AdapterEndpoint that records every call; `load` / `unload` outcomes are scriptable. */
class FakeEndpoint implements AdapterEndpoint {
  loads: { spec: ModelSpec; request: LoadAdapterRequest }[] = [];
  unloads: { spec: ModelSpec; name: string }[] = [];
  loaded = new Set<string>();
  loadError: Error | undefined;

  load(spec: ModelSpec, request: LoadAdapterRequest): Promise<'loaded' | 'already-loaded'> {
    this.loads.push({ spec, request });
    if (this.loadError) return Promise.reject(this.loadError);
    if (this.loaded.has(request.name)) return Promise.resolve('already-loaded');
    this.loaded.add(request.name);
    return Promise.resolve('loaded');
  }

  unload(spec: ModelSpec, name: string): Promise<'unloaded' | 'absent'> {
    this.unloads.push({ spec, name });
    return Promise.resolve(this.loaded.delete(name) ? 'unloaded' : 'absent');
  }
}

const silent = (): void => undefined;
const quietEnv = (): MockActivityEnvironment =>
  new MockActivityEnvironment(undefined, { logger: { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent } });

/** Expects an ApplicationFailure of `type` with `nonRetryable` and a message matching every pattern. */
async function rejectsWith(promise: Promise<unknown>, type: string, nonRetryable: boolean, ...patterns: (RegExp | string)[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(error)}`);
    assert.equal(error.type, type, error.message);
    assert.equal(error.nonRetryable, nonRetryable, `nonRetryable of ${error.message}`);
    for (const p of patterns) {
      if (typeof p === 'string') assert.ok(error.message.includes(p), `"${error.message}" should mention ${p}`);
      else assert.match(error.message, p);
    }
    return true;
  });
}

const WEIGHTS = psoWeights(
  { inertia: 0.2, cognitive: 0.3, social: 0.4, repel: 0.05, repelEnabled: true, weightRandomness: true },
  { rV: 0.35, rP: 0.6, rG: 0.45, rW: 0.8 },
);

// ------------------------------------------------------------------------------------------------- activities

describe('activities/weights', () => {
  const dirs = tmpDirs('weights');
  after(() => dirs.cleanup());

  interface World {
    root: string;
    dataRoot: string;
    storeDir: string;
    exportDir: string;
    blobs: BlobStore;
    endpoint: FakeEndpoint;
    deps: WeightDeps;
    acts: ReturnType<typeof createWeightActivities>;
  }

  async function world(): Promise<World> {
    const root = await dirs.make();
    const dataRoot = path.join(root, 'data');
    const storeDir = path.join(root, 'store');
    const exportDir = path.join(root, 'export');
    await mkdir(dataRoot);
    const blobs = createFsBlobStore(storeDir);
    const endpoint = new FakeEndpoint();
    const deps: WeightDeps = { blobs, adapterEndpoint: endpoint, dataRoot, exportDir };
    return { root, dataRoot, storeDir, exportDir, blobs, endpoint, deps, acts: createWeightActivities(deps) };
  }

  describe('importAdapter', () => {
    it('GGUF: key = sha256 of the file, served = <id>@<sha12>, iteration 0, no configKey', async () => {
      const w = await world();
      const file = path.join(w.dataRoot, 'adapters', 'a.gguf');
      await writeGgufAdapter(file, 1);
      const hex = await sha256File(file);
      const version = await w.acts.importAdapter({ model: modelSpec('a', { path: 'adapters/a.gguf', format: 'gguf' }) });
      assert.deepEqual(version, { served: `a@${hex.slice(0, 12)}`, sha256: hex, key: `sha256:${hex}`, iteration: 0 });
      assert.ok(!('configKey' in version));
      const stored = await createFsBlobStore(w.storeDir).filePath(version.key);
      assert.deepEqual(await readFile(stored), await readFile(file), 'the blob holds the adapter bytes');
    });

    it('PEFT: key = sha256 of adapter_model.safetensors, configKey = the stored adapter_config.json', async () => {
      const w = await world();
      const weights = await writePeftAdapter(path.join(w.dataRoot, 'peft-a'), 2);
      const hex = await sha256File(weights);
      const version = await w.acts.importAdapter({ model: modelSpec('p', { path: 'peft-a', format: 'peft' }) });
      assert.equal(version.key, `sha256:${hex}`);
      assert.equal(version.sha256, hex);
      assert.equal(version.served, `p@${hex.slice(0, 12)}`);
      assert.equal(version.iteration, 0);
      assert.ok(version.configKey !== undefined && version.configKey !== version.key);
      assert.deepEqual(await w.blobs.getJson(version.configKey), PEFT_CONFIG);
    });

    it('an absolute adapter path is used as is', async () => {
      const w = await world();
      const file = path.join(w.root, 'elsewhere.gguf');
      await writeGgufAdapter(file, 3);
      const version = await w.acts.importAdapter({ model: modelSpec('a', { path: file, format: 'gguf' }) });
      assert.equal(version.sha256, await sha256File(file));
    });

    it('a matching adapterSha256 passes; a different one fails with AdapterError.Changed (non-retryable)', async () => {
      const w = await world();
      const file = path.join(w.dataRoot, 'a.gguf');
      const hex = await writeGgufAdapter(file, 1);
      assert.equal((await w.acts.importAdapter({ model: modelSpec('a', { path: 'a.gguf', format: 'gguf' }, { adapterSha256: hex }) })).sha256, hex);
      const pinned = 'f'.repeat(64);
      await rejectsWith(
        w.acts.importAdapter({ model: modelSpec('a', { path: 'a.gguf', format: 'gguf' }, { adapterSha256: pinned }) }),
        'AdapterError.Changed',
        true,
        hex,
        pinned,
        file,
      );
    });

    it('a relative path leading out of the data root fails with AdapterError.Invalid naming the field', async () => {
      const w = await world();
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('a', { path: '../../etc/a.gguf', format: 'gguf' }) }), 'AdapterError.Invalid', true, 'models[].adapter.path "../../etc/a.gguf"', 'outside the data root');
    });

    it('a missing file fails with AdapterError.Invalid (non-retryable) naming the resolved path', async () => {
      const w = await world();
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('a', { path: 'nope/a.gguf', format: 'gguf' }) }), 'AdapterError.Invalid', true, path.join(w.dataRoot, 'nope', 'a.gguf'), 'does not exist');
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('p', { path: 'no-dir', format: 'peft' }) }), 'AdapterError.Invalid', true, path.join(w.dataRoot, 'no-dir'));
    });

    it('junk files fail with AdapterError.Invalid (non-retryable) naming the path', async () => {
      const w = await world();
      await writeFile(path.join(w.dataRoot, 'junk.gguf'), 'this is not a GGUF file at all');
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('a', { path: 'junk.gguf', format: 'gguf' }) }), 'AdapterError.Invalid', true, path.join(w.dataRoot, 'junk.gguf'), /not a GGUF file/);
      await writeFile(path.join(w.dataRoot, 'empty.gguf'), '');
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('a', { path: 'empty.gguf', format: 'gguf' }) }), 'AdapterError.Invalid', true, path.join(w.dataRoot, 'empty.gguf'));
      // PEFT with junk weights, and PEFT with a config that is not LoRA.
      const junkPeft = path.join(w.dataRoot, 'junk-peft');
      await writePeftAdapter(junkPeft, 1);
      await writeFile(path.join(junkPeft, 'adapter_model.safetensors'), 'junk junk junk junk');
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('p', { path: 'junk-peft', format: 'peft' }) }), 'AdapterError.Invalid', true, junkPeft);
      const ia3 = path.join(w.dataRoot, 'ia3');
      await writePeftAdapter(ia3, 1, { ...PEFT_CONFIG, peft_type: 'IA3' });
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('p', { path: 'ia3', format: 'peft' }) }), 'AdapterError.Invalid', true, ia3, /LORA/);
    });

    it('a GGUF file without tensors fails with AdapterError.Invalid', async () => {
      const w = await world();
      await writeLoraAdapter(path.join(w.dataRoot, 'none.gguf'), { architecture: 'llama', alpha: 1, rank: 1, tensors: [] });
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('a', { path: 'none.gguf', format: 'gguf' }) }), 'AdapterError.Invalid', true, /has no tensors/);
    });

    it('a directory configured as a GGUF adapter (e.g. a PEFT folder with format "gguf") fails with AdapterError.Invalid', async () => {
      // A config mistake: retrying cannot fix it, so the failure must be the non-retryable AdapterError.Invalid.
      const w = await world();
      await writePeftAdapter(path.join(w.dataRoot, 'peft-dir'), 1);
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('a', { path: 'peft-dir', format: 'gguf' }) }), 'AdapterError.Invalid', true, path.join(w.dataRoot, 'peft-dir'));
    });

    it('like: a seeded adapter must have the tensors of the particle\'s current one (else AdapterError.Invalid naming model and path)', async () => {
      const w = await world();
      await writeGgufAdapter(path.join(w.dataRoot, 'a.gguf'), 1);
      const current = await w.acts.importAdapter({ model: modelSpec('a', { path: 'a.gguf', format: 'gguf' }) });
      await writeGgufAdapter(path.join(w.dataRoot, 'seed.gguf'), 2);
      const seeded = await w.acts.importAdapter({ model: modelSpec('a', { path: 'seed.gguf', format: 'gguf' }), like: current.key, source: 'seed' });
      assert.equal(seeded.sha256, await sha256File(path.join(w.dataRoot, 'seed.gguf')));
      // Same tensor names, other shapes (rank 4): refused before anything is stored.
      const other = path.join(w.dataRoot, 'rank4.gguf');
      await writeLoraAdapter(other, { architecture: 'llama', alpha: 4, rank: 4, tensors: [{ name: 'blk.0.attn_q.weight', a: randomValues(8 * 4, 5), b: randomValues(4 * 8, 6), aDims: [8, 4], bDims: [4, 8] }, { name: 'blk.0.attn_v.weight', a: randomValues(8 * 4, 7), b: randomValues(4 * 4, 8), aDims: [8, 4], bDims: [4, 4] }] });
      await rejectsWith(
        w.acts.importAdapter({ model: modelSpec('a', { path: 'rank4.gguf', format: 'gguf' }), like: current.key, source: 'seed' }),
        'AdapterError.Invalid',
        true,
        'model "a"',
        other,
        'the seed\'s "adapter" "rank4.gguf"',
        /tensors differ: tensor layout: tensor 0 is /,
      );
      await assert.rejects(createFsBlobStore(w.storeDir).filePath(`sha256:${await sha256File(other)}`), 'the refused file was not stored');
      // A seed's pin names the seed, not the config.
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('a', { path: 'seed.gguf', format: 'gguf' }, { adapterSha256: 'f'.repeat(64) }), like: current.key, source: 'seed' }), 'AdapterError.Changed', true, 'the seed\'s "adapterSha256" pins');
    });

    it('a model without adapter is an InvalidSearchConfig', async () => {
      const w = await world();
      await rejectsWith(w.acts.importAdapter({ model: modelSpec('plain', undefined) }), 'InvalidSearchConfig', true, 'plain');
    });
  });

  describe('initialVelocity', () => {
    it('stores partner − x, or zeros without a partner, exactly as velocityTowards writes them', async () => {
      const w = await world();
      const xFile = path.join(w.dataRoot, 'x.gguf');
      const jFile = path.join(w.dataRoot, 'j.gguf');
      await writeGgufAdapter(xFile, 1);
      await writeGgufAdapter(jFile, 2);
      const x = await w.blobs.putFile(xFile);
      const j = await w.blobs.putFile(jFile);
      const direct = await velocityTowards(ggufFormat, xFile, jFile, path.join(w.root, 'v.gguf'));
      const zeros = await velocityTowards(ggufFormat, xFile, null, path.join(w.root, 'zero.gguf'));
      const { velocity } = await w.acts.initialVelocity({ format: 'gguf', position: x, partner: j });
      assert.equal(velocity, `sha256:${direct.sha256}`);
      assert.equal((await w.acts.initialVelocity({ format: 'gguf', position: x, partner: null })).velocity, `sha256:${zeros.sha256}`);
      assert.equal(await sha256File(await createFsBlobStore(w.storeDir).filePath(velocity)), direct.sha256);
    });
  });

  describe('updateAdapter', () => {
    const FORMATS = [
      { name: 'gguf', format: ggufFormat, suffix: '.gguf' },
      { name: 'peft', format: safetensorsFormat, suffix: '.safetensors' },
    ] as const satisfies readonly { name: string; format: TensorFileFormat; suffix: string }[];

    /** Five adapters (x, v, p, g, g_w) as files and as blob keys. */
    async function fiveAdapters(w: World, kind: (typeof FORMATS)[number]): Promise<{ files: string[]; keys: string[] }> {
      const files: string[] = [];
      for (let i = 0; i < 5; i++) {
        if (kind.name === 'gguf') {
          const file = path.join(w.dataRoot, `op${i}.gguf`);
          await writeGgufAdapter(file, 10 + i);
          files.push(file);
        } else {
          files.push(await writePeftAdapter(path.join(w.dataRoot, `op${i}`), 10 + i));
        }
      }
      const keys: string[] = [];
      for (const f of files) keys.push(await w.blobs.putFile(f));
      return { files, keys };
    }

    function plan(keys: readonly string[], overrides: Partial<WeightUpdatePlan> = {}): WeightUpdatePlan {
      return {
        model: 3,
        restart: false,
        restartCooldown: 0,
        weights: WEIGHTS,
        stepLength: 0.8,
        position: keys[0]!,
        velocity: keys[1]!,
        personalBest: keys[2]!,
        globalBest: keys[3]!,
        globalWorst: keys[4]!,
        ...overrides,
      };
    }

    for (const kind of FORMATS) {
      it(`${kind.name}: the output blobs are psoUpdateTensors run directly, verified by filePath, with heartbeats`, async () => {
        const w = await world();
        const { files, keys } = await fiveAdapters(w, kind);
        const env = quietEnv();
        const heartbeats: unknown[] = [];
        env.on('heartbeat', (d: unknown) => heartbeats.push(d));
        const result = await env.run(w.acts.updateAdapter, { format: kind.name, plan: plan(keys) });

        const direct = await psoUpdateTensors(
          kind.format,
          { position: files[0]!, velocity: files[1]!, personalBest: files[2]!, globalBest: files[3]!, globalWorst: files[4]! },
          WEIGHTS,
          0.8,
          { position: path.join(w.root, `dx${kind.suffix}`), velocity: path.join(w.root, `dv${kind.suffix}`) },
        );
        assert.deepEqual(result, { position: `sha256:${direct.position.sha256}`, sha256: direct.position.sha256, velocity: `sha256:${direct.velocity.sha256}` });
        // A fresh store (another process) re-verifies the hashes of the new blobs.
        const fresh = createFsBlobStore(w.storeDir);
        assert.deepEqual(await readFile(await fresh.filePath(result.position)), await readFile(path.join(w.root, `dx${kind.suffix}`)));
        assert.deepEqual(await readFile(await fresh.filePath(result.velocity)), await readFile(path.join(w.root, `dv${kind.suffix}`)));
        assert.deepEqual(heartbeats, [1, 2, 3, 4].map((done) => ({ model: 3, done, total: 4 })));
        assert.deepEqual(await readdir(path.join(w.storeDir, 'scratch')), [], 'no scratch files are left');
      });
    }

    it('is deterministic: a second run (a retried activity, or another store) gives identical keys', async () => {
      const w = await world();
      const { keys } = await fiveAdapters(w, FORMATS[0]);
      const first = await w.acts.updateAdapter({ format: 'gguf', plan: plan(keys) });
      const second = await w.acts.updateAdapter({ format: 'gguf', plan: plan(keys) });
      assert.deepEqual(second, first);
      // The same inputs in a brand-new store: same bytes, same keys.
      const other = await world();
      const { keys: otherKeys } = await fiveAdapters(other, FORMATS[0]);
      assert.deepEqual(otherKeys, keys);
      assert.deepEqual(await other.acts.updateAdapter({ format: 'gguf', plan: plan(otherKeys) }), first);
    });

    it('a restart plan (velocity null) equals psoUpdateTensors with v = 0', async () => {
      const w = await world();
      const { files, keys } = await fiveAdapters(w, FORMATS[0]);
      const result = await w.acts.updateAdapter({ format: 'gguf', plan: plan(keys, { restart: true, velocity: null, position: keys[2]! }) });
      const direct = await psoUpdateTensors(
        ggufFormat,
        { position: files[2]!, velocity: null, personalBest: files[2]!, globalBest: files[3]!, globalWorst: files[4]! },
        WEIGHTS,
        0.8,
        { position: path.join(w.root, 'rx.gguf'), velocity: path.join(w.root, 'rv.gguf') },
      );
      assert.equal(result.sha256, direct.position.sha256);
      assert.equal(result.velocity, `sha256:${direct.velocity.sha256}`);
    });

    it('a corrupted blob: filePath throws BlobCorruptError and updateAdapter fails with AdapterError.Invalid', async () => {
      const w = await world();
      const { keys } = await fiveAdapters(w, FORMATS[0]);
      // Damage the personal best's bytes in the store (same size, one flipped byte in the tensor data).
      const blobFile = await w.blobs.filePath(keys[2]!);
      const { size } = await stat(blobFile);
      const fh = await open(blobFile, 'r+');
      const byte = Buffer.alloc(1);
      await fh.read(byte, 0, 1, size - 8);
      byte[0] = byte[0]! ^ 0xff;
      await fh.write(byte, 0, 1, size - 8);
      await fh.close();
      // A worker process that has not verified the blob yet (a fresh store on the same directory).
      const blobs = createFsBlobStore(w.storeDir);
      await assert.rejects(blobs.filePath(keys[2]!), BlobCorruptError);
      const acts = createWeightActivities({ ...w.deps, blobs });
      await rejectsWith(acts.updateAdapter({ format: 'gguf', plan: plan(keys) }), 'AdapterError.Invalid', true, 'model #3', keys[2]!.slice('sha256:'.length));
    });

    it('operands of different layouts fail with AdapterError.Invalid and leave no blobs or scratch files', async () => {
      const w = await world();
      const { keys } = await fiveAdapters(w, FORMATS[0]);
      const odd = path.join(w.dataRoot, 'odd.gguf');
      await writeLoraAdapter(odd, {
        architecture: 'llama',
        alpha: 4,
        rank: 2,
        tensors: [{ name: 'blk.0.attn_q.weight', a: randomValues(16, 1), b: randomValues(16, 2), aDims: [8, 2], bDims: [2, 8] }],
      });
      const oddKey = await w.blobs.putFile(odd);
      const before = await readdir(path.join(w.storeDir, 'sha256'), { recursive: true });
      await rejectsWith(w.acts.updateAdapter({ format: 'gguf', plan: plan(keys, { globalWorst: oddKey }) }), 'AdapterError.Invalid', true, 'model #3', /global worst vs position/);
      assert.deepEqual(await readdir(path.join(w.storeDir, 'sha256'), { recursive: true }), before);
      assert.deepEqual(await readdir(path.join(w.storeDir, 'scratch')), []);
    });
  });

  describe('publishAdapter', () => {
    it('GGUF: writes <exportDir>/<id>/<sha>.gguf once, loads it as <id>@<sha12> with path and base; idempotent', async () => {
      const w = await world();
      const file = path.join(w.dataRoot, 'a.gguf');
      const hex = await writeGgufAdapter(file, 4);
      const key = await w.blobs.putFile(file);
      const model = modelSpec('expert-a', { path: 'a.gguf', format: 'gguf', base: 'smollm2' });
      const version: Pick<ModelVersion, 'sha256' | 'key'> = { sha256: hex, key };
      const target = path.join(w.exportDir, 'expert-a', `${hex}.gguf`);

      assert.deepEqual(await w.acts.publishAdapter({ model, version }), { served: `expert-a@${hex.slice(0, 12)}` });
      assert.deepEqual(await readFile(target), await readFile(file));
      assert.deepEqual(await readdir(path.join(w.exportDir, 'expert-a')), [`${hex}.gguf`], 'no temporary files');
      assert.equal(w.endpoint.loads.length, 1);
      assert.equal(w.endpoint.loads[0]!.spec, model);
      assert.deepEqual(w.endpoint.loads[0]!.request, { name: `expert-a@${hex.slice(0, 12)}`, path: target, base: 'smollm2' });

      const written = await stat(target);
      assert.deepEqual(await w.acts.publishAdapter({ model, version }), { served: `expert-a@${hex.slice(0, 12)}` });
      const again = await stat(target);
      assert.equal(again.ino, written.ino, 'the file is not rewritten');
      assert.equal(again.mtimeMs, written.mtimeMs);
      assert.deepEqual(await readdir(path.join(w.exportDir, 'expert-a')), [`${hex}.gguf`]);
      assert.equal(w.endpoint.loads.length, 2);
      assert.deepEqual(w.endpoint.loads[1]!.request, w.endpoint.loads[0]!.request);
    });

    it('PEFT: writes the directory <exportDir>/<id>/<sha>/ with adapter_config.json and adapter_model.safetensors', async () => {
      const w = await world();
      await writePeftAdapter(path.join(w.dataRoot, 'peft'), 5);
      const model = modelSpec('expert-p', { path: 'peft', format: 'peft', base: 'smol-base' });
      const version = await w.acts.importAdapter({ model });
      const { served } = await w.acts.publishAdapter({ model, version });
      const target = path.join(w.exportDir, 'expert-p', version.sha256);
      assert.equal(served, `expert-p@${version.sha256.slice(0, 12)}`);
      assert.deepEqual((await readdir(target)).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
      assert.deepEqual(JSON.parse(await readFile(path.join(target, 'adapter_config.json'), 'utf8')), PEFT_CONFIG);
      assert.equal(await sha256File(path.join(target, 'adapter_model.safetensors')), version.sha256);
      assert.deepEqual(w.endpoint.loads.map((l) => l.request), [{ name: served, path: target, base: 'smol-base' }]);
      await w.acts.publishAdapter({ model, version });
      assert.deepEqual(await readdir(path.join(w.exportDir, 'expert-p')), [version.sha256], 'written once, no temporary directories');
    });

    it('PEFT without configKey fails with AdapterError.Invalid and leaves nothing behind', async () => {
      const w = await world();
      const weights = await writePeftAdapter(path.join(w.dataRoot, 'peft'), 5);
      const key = await w.blobs.putFile(weights);
      const model = modelSpec('expert-p', { path: 'peft', format: 'peft' });
      await rejectsWith(w.acts.publishAdapter({ model, version: { sha256: key.slice(7), key } }), 'AdapterError.Invalid', true, 'configKey');
      assert.deepEqual(await readdir(path.join(w.exportDir, 'expert-p')), []);
      assert.equal(w.endpoint.loads.length, 0);
    });

    it('endpoint failures become ApplicationFailures of the same type (NotFound non-retryable, RateLimit retryable)', async () => {
      const w = await world();
      const file = path.join(w.dataRoot, 'a.gguf');
      const hex = await writeGgufAdapter(file, 4);
      const key = await w.blobs.putFile(file);
      const model = modelSpec('expert-a', { path: 'a.gguf', format: 'gguf' });
      w.endpoint.loadError = new ModelCallError('no runtime LoRA', 'ModelInvocationError.NotFound', 404);
      await rejectsWith(w.acts.publishAdapter({ model, version: { sha256: hex, key } }), 'ModelInvocationError.NotFound', true, 'no runtime LoRA');
      w.endpoint.loadError = new ModelCallError('slow down', 'ModelInvocationError.RateLimit', 429, 1500);
      await assert.rejects(w.acts.publishAdapter({ model, version: { sha256: hex, key } }), (error: unknown) => {
        assert.ok(error instanceof ApplicationFailure);
        assert.equal(error.type, 'ModelInvocationError.RateLimit');
        assert.equal(error.nonRetryable, false);
        assert.equal(error.nextRetryDelay, '1500ms');
        return true;
      });
    });
  });

  describe('unloadAdapters', () => {
    it('unloads every name and counts only those that were loaded', async () => {
      const w = await world();
      const model = modelSpec('expert-a', { path: 'a.gguf', format: 'gguf' });
      w.endpoint.loaded = new Set(['expert-a@000000000001', 'expert-a@000000000003']);
      const names = ['expert-a@000000000001', 'expert-a@000000000002', 'expert-a@000000000003'];
      assert.deepEqual(await w.acts.unloadAdapters({ model, names }), { unloaded: 2 });
      assert.deepEqual(
        w.endpoint.unloads.map((u) => u.name),
        names,
      );
      assert.ok(w.endpoint.unloads.every((u) => u.spec === model));
      assert.deepEqual(await w.acts.unloadAdapters({ model, names }), { unloaded: 0 });
      assert.deepEqual(await w.acts.unloadAdapters({ model, names: [] }), { unloaded: 0 });
    });
  });
});

// ------------------------------------------------------------------------------------------------- HTTP endpoint

interface Recorded {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}
type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';

interface ScriptedServer {
  baseURL: string;
  requests: Recorded[];
  /** How to answer the next requests. */
  reply: (r: Recorded) => Reply;
  close(): Promise<void>;
}

/** A node:http server answering every request with `reply(request)` and recording the requests. */
async function scriptedServer(): Promise<ScriptedServer> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: Recorded = { url: req.url ?? '', headers: req.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
      scripted.requests.push(recorded);
      const reply = scripted.reply(recorded);
      if (reply === 'hang') return;
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scripted: ScriptedServer = {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests: [],
    reply: () => ({ status: 200, body: {} }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return scripted;
}

describe('activities/adapter-endpoint (HTTP)', () => {
  let server: ScriptedServer;
  before(async () => {
    server = await scriptedServer();
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.reply = () => ({ status: 200, body: {} });
  });

  const spec = (extra: Partial<ModelSpec> = {}): ModelSpec =>
    ModelSpecSchema.parse({ id: 'expert-a', baseURL: server.baseURL, model: 'expert-a', adapter: { path: 'a.gguf', format: 'gguf', base: 'smollm2' }, ...extra });
  const request: LoadAdapterRequest = { name: 'expert-a@0123456789ab', path: '/export/expert-a/0123.gguf', base: 'smollm2' };
  const noKey = createHttpAdapterEndpoint({ apiKey: () => undefined });

  async function rejectsCall(promise: Promise<unknown>, type: string, check: (e: ModelCallError) => void = () => undefined): Promise<void> {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof ModelCallError, String(error));
      assert.equal(error.type, type, error.message);
      check(error);
      return true;
    });
  }

  it('load: POST {baseURL}/load_lora_adapter {lora_name, lora_path, base_model_name}; 200 ⇒ loaded', async () => {
    server.reply = () => ({ status: 200, body: { object: 'lora_adapter', id: request.name, already_loaded: false } });
    assert.equal(await noKey.load(spec(), request), 'loaded');
    assert.equal(server.requests.length, 1);
    const r = server.requests[0]!;
    assert.equal(r.url, '/v1/load_lora_adapter');
    assert.deepEqual(r.body, { lora_name: request.name, lora_path: request.path, base_model_name: 'smollm2' });
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers.authorization, undefined);
  });

  it('load: vLLM’s plain-text 200 ⇒ loaded; a trailing slash in baseURL is not doubled', async () => {
    server.reply = () => ({ status: 200, body: "Success: LoRA adapter 'expert-a@0123456789ab' added successfully." });
    assert.equal(await noKey.load(spec({ baseURL: `${server.baseURL}/` }), request), 'loaded');
    assert.equal(server.requests[0]!.url, '/v1/load_lora_adapter');
  });

  it('load: 200 with already_loaded true ⇒ already-loaded', async () => {
    server.reply = () => ({ status: 200, body: { object: 'lora_adapter', id: request.name, already_loaded: true } });
    assert.equal(await noKey.load(spec(), request), 'already-loaded');
  });

  it('load: vLLM’s 400 "has already been loaded" ⇒ already-loaded; any other 400 is a BadRequest', async () => {
    server.reply = () => ({ status: 400, body: { object: 'error', message: `The lora adapter '${request.name}' has already been loaded.`, type: 'InvalidUserInput', code: 400 } });
    assert.equal(await noKey.load(spec(), request), 'already-loaded');
    server.reply = () => ({ status: 400, body: { object: 'error', message: 'No adapter found for /export/x', type: 'InvalidUserInput', code: 400 } });
    await rejectsCall(noKey.load(spec(), request), 'ModelInvocationError.BadRequest', (e) => assert.equal(e.status, 400));
  });

  it('load: 404 ⇒ NotFound with a hint about VLLM_ALLOW_RUNTIME_LORA_UPDATING', async () => {
    server.reply = () => ({ status: 404, body: { detail: 'Not Found' } });
    await rejectsCall(noKey.load(spec(), request), 'ModelInvocationError.NotFound', (e) => {
      assert.equal(e.status, 404);
      assert.match(e.message, /VLLM_ALLOW_RUNTIME_LORA_UPDATING/);
      assert.match(e.message, /expert-a/);
      assert.match(e.message, /load_lora_adapter/);
    });
  });

  it('load: 429 with retry-after ⇒ RateLimit with retryAfterMs; 503 ⇒ ServerError', async () => {
    server.reply = () => ({ status: 429, body: { error: 'busy' }, headers: { 'retry-after': '3' } });
    await rejectsCall(noKey.load(spec(), request), 'ModelInvocationError.RateLimit', (e) => {
      assert.equal(e.status, 429);
      assert.equal(e.retryAfterMs, 3000);
    });
    server.reply = () => ({ status: 503, body: { error: 'down' } });
    await rejectsCall(noKey.load(spec(), request), 'ModelInvocationError.ServerError', (e) => assert.equal(e.retryAfterMs, undefined));
  });

  it('unload: POST {baseURL}/unload_lora_adapter {lora_name}; 200 ⇒ unloaded', async () => {
    assert.equal(await noKey.unload(spec(), request.name), 'unloaded');
    assert.equal(server.requests[0]!.url, '/v1/unload_lora_adapter');
    assert.deepEqual(server.requests[0]!.body, { lora_name: request.name });
  });

  it('unload: vLLM’s 404 "cannot be found" and a 404 "not found" ⇒ absent', async () => {
    server.reply = () => ({ status: 404, body: { object: 'error', message: `The lora adapter '${request.name}' cannot be found.`, type: 'NotFoundError', code: 404 } });
    assert.equal(await noKey.unload(spec(), request.name), 'absent');
    server.reply = () => ({ status: 404, body: { error: { message: `adapter ${request.name} not found` } } });
    assert.equal(await noKey.unload(spec(), request.name), 'absent');
  });

  it('unload: a 404 for the route itself on `hs llm serve` (no such endpoint) is a NotFound failure, not "absent"', async () => {
    server.reply = () => ({ status: 404, body: new LlmError(404, 'no such endpoint: POST /v1/unload_lora_adapter', 'not_found').toBody() });
    await rejectsCall(noKey.unload(spec(), request.name), 'ModelInvocationError.NotFound', (e) => assert.match(e.message, /VLLM_ALLOW_RUNTIME_LORA_UPDATING/));
  });

  it('unload: a 404 for the route itself on vLLM without runtime LoRA (FastAPI {"detail":"Not Found"}) is a NotFound failure, not "absent"', async () => {
    // vLLM registers /v1/unload_lora_adapter only with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; otherwise FastAPI
    // answers an unknown route with 404 {"detail":"Not Found"}. That says nothing about the adapter.
    server.reply = () => ({ status: 404, body: { detail: 'Not Found' } });
    await rejectsCall(noKey.unload(spec(), request.name), 'ModelInvocationError.NotFound');
  });

  it('sends Authorization: Bearer <key> when apiKey(apiKeyEnv) returns a key, asking for the configured env name', async () => {
    const asked: (string | undefined)[] = [];
    const endpoint = createHttpAdapterEndpoint({ apiKey: (name) => (asked.push(name), name === 'ADAPTER_KEY' ? 'sk-test-123' : undefined) });
    await endpoint.load(spec({ apiKeyEnv: 'ADAPTER_KEY' }), request);
    await endpoint.unload(spec({ apiKeyEnv: 'ADAPTER_KEY' }), request.name);
    await endpoint.load(spec(), request);
    assert.deepEqual(asked, ['ADAPTER_KEY', 'ADAPTER_KEY', undefined]);
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ['Bearer sk-test-123', 'Bearer sk-test-123', undefined],
    );
  });

  it('a server that does not answer in time ⇒ Timeout; nobody listening ⇒ Network', async () => {
    server.reply = () => 'hang';
    const impatient = createHttpAdapterEndpoint({ apiKey: () => undefined, timeoutMs: 200 });
    await rejectsCall(impatient.load(spec(), request), 'ModelInvocationError.Timeout', (e) => assert.match(e.message, /timed out/));
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await rejectsCall(noKey.unload(spec({ baseURL: `http://127.0.0.1:${port}/v1` }), request.name), 'ModelInvocationError.Network');
  });
});
