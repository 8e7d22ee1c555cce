import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loraPairs, PeftAdapterError, peftDirectoryFiles, readPeftAdapter } from '../../adapters/peft';
import { safetensorsFormat } from '../../adapters/safetensors';
import type { TensorInfo, TensorLayout } from '../../adapters/tensor-file';
import { tmpDirs } from '../activities/tmp-dir';

/** adapter_config.json as PEFT writes it (abridged), with keys we do not parse. */
const CONFIG = `{
  "alpha_pattern": {},
  "base_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "lora_alpha": 16,
  "lora_dropout": 0.05,
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 2,
  "rank_pattern": {},
  "target_modules": [
    "v_proj",
    "q_proj"
  ],
  "task_type": "CAUSAL_LM"
}
`;

const MODULES = ['base_model.model.model.layers.0.self_attn.q_proj', 'base_model.model.model.layers.0.self_attn.v_proj'];

/** Two modules, r = 2: q_proj 4 → 4, v_proj 4 → 3 (`rank` overrides the A/B rank for mismatch tests). */
function loraLayout(rank = 2): TensorLayout {
  const [q, v] = MODULES as [string, string];
  return {
    tensors: [
      { name: `${q}.lora_A.weight`, dtype: 'F32', shape: [rank, 4] },
      { name: `${q}.lora_B.weight`, dtype: 'F32', shape: [4, rank] },
      { name: `${v}.lora_A.weight`, dtype: 'BF16', shape: [rank, 4] },
      { name: `${v}.lora_B.weight`, dtype: 'BF16', shape: [3, rank] },
    ],
    metadata: { format: 'pt' },
  };
}

describe('PEFT adapter directories', () => {
  const dirs = tmpDirs('peft');
  after(() => dirs.cleanup());

  async function adapterDir(config: string | null = CONFIG, layout: TensorLayout | null = loraLayout()): Promise<string> {
    const dir = path.join(await dirs.make(), 'adapter');
    await mkdir(dir);
    if (config !== null) await writeFile(path.join(dir, peftDirectoryFiles.config), config);
    if (layout !== null) {
      const sink = await safetensorsFormat.create(path.join(dir, peftDirectoryFiles.weights), layout);
      for (const t of layout.tensors) await sink.write(new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(0.25));
      await sink.commit();
    }
    return dir;
  }

  /** Expects a PeftAdapterError whose message contains every string. */
  async function rejects(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof PeftAdapterError, String(error));
      for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
      return true;
    });
  }

  it('reads a hand-written adapter: the config (unknown keys kept), its text, and the weights file', async () => {
    const dir = await adapterDir();
    const adapter = await readPeftAdapter(dir);
    assert.equal(adapter.configText, CONFIG);
    assert.deepEqual(adapter.config, JSON.parse(CONFIG));
    assert.equal(adapter.config.r, 2);
    assert.deepEqual(adapter.config.target_modules, ['v_proj', 'q_proj']);
    assert.equal(adapter.config.task_type, 'CAUSAL_LM');
    assert.equal(adapter.weightsFile, path.join(dir, 'adapter_model.safetensors'));

    const weights = await safetensorsFormat.open(adapter.weightsFile);
    try {
      const modules = loraPairs(weights.layout, adapter.config.r, adapter.weightsFile);
      assert.deepEqual(
        modules.map(({ module, nIn, nOut }) => ({ module, nIn, nOut })),
        [
          { module: MODULES[0], nIn: 4, nOut: 4 },
          { module: MODULES[1], nIn: 4, nOut: 3 },
        ],
      );
      assert.equal(modules[1]!.b.name, `${MODULES[1]}.lora_B.weight`);
      assert.deepEqual([...(await weights.read(modules[1]!.a.name))], new Array<number>(8).fill(0.25));
    } finally {
      await weights.close();
    }
  });

  it('resolves a relative directory to absolute paths', async () => {
    const dir = await adapterDir();
    const adapter = await readPeftAdapter(path.relative(process.cwd(), dir));
    assert.equal(adapter.weightsFile, path.join(dir, 'adapter_model.safetensors'));
  });

  it('accepts target_modules as a string and a null base model', async () => {
    const config = JSON.stringify({ ...JSON.parse(CONFIG), target_modules: 'all-linear', base_model_name_or_path: null });
    const adapter = await readPeftAdapter(await adapterDir(config));
    assert.equal(adapter.config.target_modules, 'all-linear');
    assert.equal(adapter.config.base_model_name_or_path, null);
  });

  describe('errors name the file and the field', () => {
    const withConfig = (patch: Record<string, unknown>): string => JSON.stringify({ ...JSON.parse(CONFIG), ...patch });
    const configOf = (dir: string): string => path.join(dir, 'adapter_config.json');

    it('a missing adapter_config.json', async () => {
      const dir = await adapterDir(null);
      await rejects(readPeftAdapter(dir), configOf(dir), 'missing', 'adapter_model.safetensors');
    });
    it('a missing adapter_model.safetensors', async () => {
      const dir = await adapterDir(CONFIG, null);
      await rejects(readPeftAdapter(dir), path.join(dir, 'adapter_model.safetensors'), 'missing');
    });
    it('invalid JSON', async () => {
      const dir = await adapterDir('{"peft_type": "LORA",');
      await rejects(readPeftAdapter(dir), configOf(dir), 'invalid JSON');
    });
    it('a peft_type other than LORA', async () => {
      const dir = await adapterDir(withConfig({ peft_type: 'IA3' }));
      await rejects(readPeftAdapter(dir), configOf(dir), 'field "peft_type"', 'must be "LORA" (got "IA3")');
    });
    it('a rank below 1 or not an integer', async () => {
      for (const r of [0, 1.5, '8']) {
        const dir = await adapterDir(withConfig({ r }));
        await rejects(readPeftAdapter(dir), configOf(dir), 'field "r"');
      }
    });
    it('a missing lora_alpha and bad target_modules, together', async () => {
      const dir = await adapterDir(withConfig({ lora_alpha: undefined, target_modules: [1] }));
      await rejects(readPeftAdapter(dir), configOf(dir), 'field "lora_alpha"', 'field "target_modules');
    });
    it('a rank mismatch between the config and the weights', async () => {
      const dir = await adapterDir(CONFIG, loraLayout(3));
      const adapter = await readPeftAdapter(dir);
      const weights = await safetensorsFormat.open(adapter.weightsFile);
      await weights.close();
      assert.throws(() => loraPairs(weights.layout, adapter.config.r, adapter.weightsFile), (error: unknown) => {
        assert.ok(error instanceof PeftAdapterError);
        assert.equal(
          error.message,
          `${adapter.weightsFile}: "${MODULES[0]}.lora_A.weight" has shape [3, 4], expected [r, n_in] with r = 2 (adapter_config.json field "r")`,
        );
        return true;
      });
    });
  });

  describe('loraPairs', () => {
    const t = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'F32', shape });
    const pairs = (...tensors: TensorInfo[]): unknown => loraPairs({ tensors, metadata: undefined }, 2, 'x.safetensors');

    it('pairs lora_A/lora_B in any order, and embedding LoRA', () => {
      const modules = loraPairs(
        { tensors: [t('m.lora_B.weight', [5, 2]), t('e.lora_embedding_A', [2, 100]), t('m.lora_A.weight', [2, 7]), t('e.lora_embedding_B', [16, 2])], metadata: undefined },
        2,
        'x',
      );
      assert.deepEqual(
        modules.map(({ module, nIn, nOut }) => [module, nIn, nOut]),
        [
          ['m', 7, 5],
          ['e', 100, 16],
        ],
      );
    });
    it('rejects a B of the wrong rank', () => {
      assert.throws(() => pairs(t('m.lora_A.weight', [2, 7]), t('m.lora_B.weight', [5, 4])), /x\.safetensors: "m\.lora_B\.weight" has shape \[5, 4\], expected \[n_out, r\] with r = 2/);
    });
    it('rejects a tensor that is not 2-D', () => {
      assert.throws(() => pairs(t('m.lora_A.weight', [2, 7, 1]), t('m.lora_B.weight', [5, 2])), /has shape \[2, 7, 1\], expected \[r, n_in\]/);
    });
    it('rejects an unpaired tensor', () => {
      assert.throws(() => pairs(t('m.lora_A.weight', [2, 7])), /module "m" has a lora_A tensor but no lora_B/);
      assert.throws(() => pairs(t('m.lora_B.weight', [7, 2])), /module "m" has a lora_B tensor but no lora_A/);
    });
    it('rejects a repeated half', () => {
      assert.throws(() => pairs(t('m.lora_A.weight', [2, 7]), t('m.lora_embedding_A', [2, 7])), /module "m" has two lora_A tensors/);
    });
    it('rejects tensors other than LoRA pairs, and an empty adapter', () => {
      assert.throws(() => pairs(t('m.lora_magnitude_vector', [7])), /unexpected tensor "m\.lora_magnitude_vector"/);
      assert.throws(() => pairs(), /x\.safetensors: no LoRA tensors/);
    });
  });
});
