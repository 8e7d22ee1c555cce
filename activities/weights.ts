/**
 * Activities of the weight step (task queue `hs-weights`): bring the initial adapters into the blob store,
 * move every model particle with the tensor-wise PSO update, and publish new adapter versions to their
 * endpoints. Inputs and outputs are blob keys and small numbers; adapters never enter the history.
 *
 * Crash safety: every file is written to the store's scratch directory and renamed into place under its
 * sha256 only when complete, and every blob is hash-checked before it is read, so a worker killed mid-update
 * leaves at most scratch garbage; the retried activity recomputes the same bytes (the update is deterministic).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { weightsFormat, weightsSuffix, type AdapterFormatName } from '../adapters/formats';
import { peftDirectoryFiles, readPeftAdapter } from '../adapters/peft';
import { assertSameLayout, type TensorLayout } from '../adapters/tensor-file';
import { psoUpdateTensors, velocityTowards, type WrittenFile } from '../adapters/tensor-pso';
import type { ModelSpec } from '../workflows/core/config';
import { FailureType } from '../workflows/core/errors';
import type { ModelVersion } from '../workflows/core/state';
import type { WeightUpdatePlan } from '../workflows/core/weight-swarm';
import { currentActivityHooks } from './activity-context';
import type { AdapterEndpoint } from './adapter-endpoint';
import type { BlobStore } from './blob-store';
import { fatalFailure } from './evaluation-outcome';
import { resolveInDataRoot } from './fs-store';

export interface WeightDeps {
  blobs: BlobStore;
  adapterEndpoint: AdapterEndpoint;
  /** Relative adapter paths in the config resolve against this (HS_DATA_ROOT). */
  dataRoot: string;
  /** Where published versions are written; the endpoint must read the same path (HS_ADAPTER_EXPORT_DIR). */
  exportDir: string;
}

export interface UpdateAdapterInput {
  format: AdapterFormatName;
  plan: WeightUpdatePlan;
}

export interface UpdateAdapterResult {
  position: string;
  /** sha256 of the new position's weights file (= the hex of `position`). */
  sha256: string;
  velocity: string;
}

export interface ImportAdapterInput {
  /** The model; its `adapter.path` is the file to import, its `adapterSha256` (if any) pins the file's sha256. */
  model: ModelSpec;
  /** Blob key of an adapter the imported one must match tensor for tensor (names, dtypes, shapes): the model
   * particle's current position, when a `seed` update replaces it. */
  like?: string;
  /** Where path and pin come from, for messages: the study config (default) or a `seed` update. */
  source?: 'config' | 'seed';
}

/** How messages name the path and the pin of an imported adapter. */
const SOURCES = {
  config: { path: 'models[].adapter.path', pin: 'models[].adapterSha256', changed: 'the file changed since the config was written' },
  seed: { path: 'the seed\'s "adapter"', pin: 'the seed\'s "adapterSha256"', changed: 'it is not the file the seed meant' },
} as const;

export interface PublishAdapterInput {
  model: ModelSpec;
  version: Pick<ModelVersion, 'sha256' | 'key' | 'configKey'>;
}

/** The model name of an adapter version on its endpoint: `<model id>@<first 12 hex of its sha256>`. */
export function servedName(model: Pick<ModelSpec, 'id'>, sha256: string): string {
  return `${model.id}@${sha256.slice(0, 12)}`;
}

const hexOf = (key: string): string => key.slice('sha256:'.length);

function invalidAdapter(message: string, cause?: unknown): ApplicationFailure {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return ApplicationFailure.create({ type: FailureType.AdapterInvalid, message: `${message}${detail}`, nonRetryable: true });
}

/** Errors of reading/combining tensor files: store failures pass through, format errors are not retryable. */
function adapterFailure(what: string, error: unknown): unknown {
  if (error instanceof ApplicationFailure) return error;
  const name = error instanceof Error ? error.name : '';
  if (['TensorLayoutMismatch', 'SafetensorsError', 'GgufError', 'PeftAdapterError', 'BlobCorruptError'].includes(name)) return invalidAdapter(what, error);
  return error;
}

function requireAdapter(model: ModelSpec): NonNullable<ModelSpec['adapter']> {
  if (model.adapter === undefined) throw ApplicationFailure.nonRetryable(`model "${model.id}" has no adapter`, FailureType.InvalidSearchConfig);
  return model.adapter;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** 'file', 'dir' or undefined (missing / unreadable). */
async function kindOf(file: string): Promise<'file' | 'dir' | undefined> {
  return stat(file).then(
    (s) => (s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined),
    () => undefined,
  );
}

export function createWeightActivities(deps: WeightDeps) {
  const { blobs } = deps;

  /** Writes one output file in the scratch directory with `write`, then adopts it under its hash. */
  const produce = async (suffix: string, write: (file: string) => Promise<WrittenFile>): Promise<string> => {
    const scratch = await blobs.scratchFile(suffix);
    const written = await write(scratch);
    return blobs.adoptFile(scratch, written.sha256);
  };

  /** Fails (AdapterError.Invalid) unless `layout` has the tensors of the blob `like`, name by name. */
  const checkLayoutLike = async (format: AdapterFormatName, like: string, layout: TensorLayout, label: string): Promise<void> => {
    let expected: TensorLayout;
    try {
      const current = await weightsFormat(format).open(await blobs.filePath(like));
      expected = current.layout;
      await current.close();
    } catch (error) {
      throw adapterFailure(`the model particle's current adapter ${like}`, error);
    }
    try {
      assertSameLayout(expected, layout, 'tensor layout');
    } catch (error) {
      throw invalidAdapter(`${label} cannot replace the model particle's adapter ${like}: its tensors differ`, error);
    }
  };

  return {
    /** The initial adapter of a model (config `adapter.path`) as version 0, stored in the blob store; it is
     * served as `<id>@<sha12>` once published, like every later version. With `like`, a seeded adapter that
     * must fit the model particle's current one (a different layout fails non-retryably, AdapterError.Invalid). */
    importAdapter: async (input: ImportAdapterInput): Promise<ModelVersion> => {
      const { model } = input;
      const fields = SOURCES[input.source ?? 'config'];
      const adapter = requireAdapter(model);
      const resolved = resolveInDataRoot(deps.dataRoot, adapter.path);
      if (resolved === undefined) {
        throw invalidAdapter(`model "${model.id}": ${fields.path} "${adapter.path}" leads outside the data root ${deps.dataRoot} (HS_DATA_ROOT); relative adapter paths must stay inside it, or give an absolute path`);
      }
      const where = resolved;
      const label = `model "${model.id}": adapter ${where} (${fields.path} "${adapter.path}", data root ${deps.dataRoot})`;
      const kind = await kindOf(where);
      if (kind === undefined) throw invalidAdapter(`${label} does not exist`);
      if (adapter.format === 'gguf' && kind !== 'file') throw invalidAdapter(`${label} is a directory; format "gguf" needs a .gguf file (a PEFT adapter directory needs format "peft")`);
      if (adapter.format === 'peft' && kind !== 'dir') throw invalidAdapter(`${label} is a file; format "peft" needs a directory with adapter_config.json and adapter_model.safetensors`);
      let weightsFile = where;
      let configKey: string | undefined;
      let layout: TensorLayout;
      try {
        if (adapter.format === 'peft') {
          const peft = await readPeftAdapter(where);
          weightsFile = peft.weightsFile;
          configKey = await blobs.putJson(JSON.parse(peft.configText));
        }
        const source = await weightsFormat(adapter.format).open(weightsFile);
        layout = source.layout;
        await source.close();
        if (layout.tensors.length === 0) throw invalidAdapter(`${label} has no tensors`);
      } catch (error) {
        throw adapterFailure(`${label} is not a readable ${adapter.format} adapter`, error);
      }
      if (input.like !== undefined) await checkLayoutLike(adapter.format, input.like, layout, label);
      const key = await blobs.putFile(weightsFile);
      const sha256 = hexOf(key);
      if (model.adapterSha256 !== undefined && model.adapterSha256 !== sha256) {
        throw ApplicationFailure.create({
          type: FailureType.AdapterChanged,
          nonRetryable: true,
          message: `${label} has sha256 ${sha256}, but ${fields.pin} pins ${model.adapterSha256}: ${fields.changed}`,
        });
      }
      return { served: servedName(model, sha256), sha256, key, ...(configKey === undefined ? {} : { configKey }), iteration: 0 };
    },

    /** Starting velocity v = x_partner − x (zeros without a partner), stored in the blob store. */
    initialVelocity: async (input: { format: AdapterFormatName; position: string; partner: string | null }): Promise<{ velocity: string }> => {
      const format = weightsFormat(input.format);
      const hooks = currentActivityHooks();
      try {
        const x = await blobs.filePath(input.position);
        const j = input.partner === null ? null : await blobs.filePath(input.partner);
        const velocity = await produce(weightsSuffix(input.format), (out) => velocityTowards(format, x, j, out, (done, total) => hooks.heartbeat({ done, total })));
        return { velocity };
      } catch (error) {
        throw adapterFailure('initial velocity', error);
      }
    },

    /** One model particle's PSO step (restart applied by the plan), tensor by tensor. */
    updateAdapter: async (input: UpdateAdapterInput): Promise<UpdateAdapterResult> => {
      const { plan } = input;
      const format = weightsFormat(input.format);
      const hooks = currentActivityHooks();
      try {
        const files = {
          position: await blobs.filePath(plan.position),
          velocity: plan.velocity === null ? null : await blobs.filePath(plan.velocity),
          personalBest: await blobs.filePath(plan.personalBest),
          globalBest: await blobs.filePath(plan.globalBest),
          globalWorst: await blobs.filePath(plan.globalWorst),
        };
        const suffix = weightsSuffix(input.format);
        const out = { position: await blobs.scratchFile(suffix), velocity: await blobs.scratchFile(suffix) };
        const written = await psoUpdateTensors(format, files, plan.weights, plan.stepLength, out, (done, total) => hooks.heartbeat({ model: plan.model, done, total }));
        const velocity = await blobs.adoptFile(out.velocity, written.velocity.sha256);
        const position = await blobs.adoptFile(out.position, written.position.sha256);
        return { position, sha256: written.position.sha256, velocity };
      } catch (error) {
        throw adapterFailure(`PSO update of model #${plan.model}`, error);
      }
    },

    /** Writes the version where the endpoint can read it and loads it as `<id>@<sha12>`. Idempotent. */
    publishAdapter: async (input: PublishAdapterInput): Promise<{ served: string }> => {
      const { model, version } = input;
      const adapter = requireAdapter(model);
      const served = servedName(model, version.sha256);
      const dir = path.join(deps.exportDir, model.id);
      const target = path.join(dir, adapter.format === 'gguf' ? `${version.sha256}.gguf` : version.sha256);
      if (!(await exists(target))) {
        const source = await blobs.filePath(version.key);
        const temp = path.join(dir, `.${version.sha256}.${randomUUID()}.tmp`);
        await mkdir(dir, { recursive: true });
        try {
          if (adapter.format === 'gguf') {
            await cp(source, temp);
          } else {
            if (version.configKey === undefined) throw invalidAdapter(`model "${model.id}": a PEFT version needs its adapter_config.json (configKey)`);
            await mkdir(temp);
            await writeFile(path.join(temp, peftDirectoryFiles.config), `${JSON.stringify(await blobs.getJson(version.configKey), null, 2)}\n`);
            await cp(source, path.join(temp, peftDirectoryFiles.weights));
          }
          await rename(temp, target);
        } catch (error) {
          await rm(temp, { recursive: true, force: true });
          if (!(await exists(target))) throw error; // another attempt won the race: fine
        }
      }
      try {
        await deps.adapterEndpoint.load(model, { name: served, path: target, base: adapter.base }, currentActivityHooks().cancellationSignal);
      } catch (error) {
        throw fatalFailure(error);
      }
      return { served };
    },

    /** Unloads adapter versions no longer used (absent ones are fine). */
    unloadAdapters: async (input: { model: ModelSpec; names: string[] }): Promise<{ unloaded: number }> => {
      let unloaded = 0;
      for (const name of input.names) {
        try {
          if ((await deps.adapterEndpoint.unload(input.model, name)) === 'unloaded') unloaded++;
        } catch (error) {
          throw fatalFailure(error);
        }
      }
      return { unloaded };
    },
  };
}
