import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatPath, maxTokensFor, parseSearchConfig, searchConfigJsonSchema, weightStepActive, type ConfigProblem, type SearchConfig } from '../../workflows/core/config';

const minimal = (): Record<string, unknown> => ({
  study: 'unit-study',
  models: [
    { id: 'small', baseURL: 'http://127.0.0.1:8080/v1', model: 'smollm2' },
    { id: 'big', baseURL: 'https://api.example.com/v1', model: 'gpt-x', apiKeyEnv: 'OPENAI_API_KEY' },
  ],
  task: { path: 'data/arith-mc.jsonl', type: 'multiple_choice' },
});

function ok(input: unknown): SearchConfig {
  const result = parseSearchConfig(input);
  if (!result.ok) assert.fail(`expected a valid config, got ${JSON.stringify(result.problems)}`);
  return result.config;
}

function problems(input: unknown): ConfigProblem[] {
  const result = parseSearchConfig(input);
  if (result.ok) assert.fail('expected the config to be rejected');
  return result.problems;
}

function hasProblem(list: ConfigProblem[], path: string, message?: RegExp): void {
  const hit = list.find((p) => p.path === path && (message === undefined || message.test(p.message)));
  assert.ok(hit, `no problem at ${path}${message ? ` matching ${String(message)}` : ''}; got ${JSON.stringify(list)}`);
}

describe('core/config', () => {
  it('defaults are paper-notes "Our decisions" 3 (the nlgraph.sh grid), not the argparse defaults', () => {
    const config = ok(minimal());
    assert.deepEqual(config.roleStep, {
      particles: 10,
      inertia: 0.2,
      cognitive: 0.3,
      social: 0.4,
      repel: 0.05,
      repelEnabled: true,
      stepLength: 0.8,
      weightRandomness: true,
      restartEnabled: true,
      restartPatience: 0.67,
      stepLengthFactor: 1,
      minimumStepLength: 0.1,
    });
    assert.equal(config.patience, 6);
    assert.equal(config.maxIterations, 20);
    assert.equal(config.decode.topP, 0, 'greedy decode as the released code');
    assert.equal(config.seed, 42);
    assert.equal(config.generation.temperature, 0);
    assert.equal(config.generation.newlineToSpace, true);
    assert.equal(config.task.scoring, 'strict');
    assert.equal(config.task.format, 'auto');
    assert.equal(config.task.instruction, 'Please choose an option that best answers the question.');
    assert.equal(config.task.promptSuffix, '');
  });

  it('max tokens per node default by task type (§3.2): 50 multiple choice, 100 exact match', () => {
    assert.equal(maxTokensFor(ok(minimal())), 50);
    assert.equal(maxTokensFor(ok({ ...minimal(), task: { path: 'x.json', type: 'exact_match' } })), 100);
    assert.equal(maxTokensFor(ok({ ...minimal(), generation: { maxTokens: 7 } })), 7);
  });

  it('explicit values survive parsing', () => {
    const config = ok({ ...minimal(), roleStep: { inertia: 0.1, repelEnabled: false, particles: 3 }, seed: 7, decode: { topP: 0.8 } });
    assert.equal(config.roleStep.inertia, 0.1);
    assert.equal(config.roleStep.repelEnabled, false);
    assert.equal(config.roleStep.particles, 3);
    assert.equal(config.roleStep.social, 0.4, 'other fields keep their default');
    assert.equal(config.seed, 7);
    assert.equal(config.decode.topP, 0.8);
  });

  it('unknown keys are rejected at their path, naming the key', () => {
    const list = problems({ ...minimal(), maxIteration: 5, roleStep: { inertai: 0.2 }, task: { path: 'x', type: 'exact_match', lastToken: 5 } });
    hasProblem(list, 'maxIteration', /unknown key/);
    hasProblem(list, 'roleStep.inertai', /unknown key/);
    hasProblem(list, 'task.lastToken', /unknown key/);
    const model = problems({ ...minimal(), models: [{ id: 'a', baseURL: 'http://x/v1', model: 'm', apiKey: 'sk-123' }] });
    hasProblem(model, 'models[0].apiKey', /API keys never go in a config.*apiKeyEnv/);
  });

  it('duplicate model ids are rejected at the second one', () => {
    const input = minimal();
    input.models = [
      { id: 'same', baseURL: 'http://a/v1', model: 'm' },
      { id: 'other', baseURL: 'http://b/v1', model: 'm' },
      { id: 'same', baseURL: 'http://c/v1', model: 'm' },
    ];
    hasProblem(problems(input), 'models[2].id', /duplicate model id "same" \(also models\[0\]\)/);
  });

  it('apiKeyEnv must be an environment variable NAME, never the key itself', () => {
    for (const apiKeyEnv of ['sk-abc123def456ghi789', 'openai_api_key', 'MY KEY', '1KEY', '']) {
      const input = minimal();
      input.models = [{ id: 'a', baseURL: 'http://x/v1', model: 'm', apiKeyEnv }];
      hasProblem(problems(input), 'models[0].apiKeyEnv', /NAME of an environment variable/);
    }
    for (const apiKeyEnv of ['OPENAI_API_KEY', '_X', 'K2']) {
      ok({ ...minimal(), models: [{ id: 'a', baseURL: 'http://x/v1', model: 'm', apiKeyEnv }] });
    }
  });

  it('baseURL must be an http(s) URL; problems carry paths like models[1].baseURL', () => {
    for (const baseURL of ['ftp://host/v1', 'not a url', '127.0.0.1:8080/v1', '']) {
      const input = minimal();
      input.models = [{ id: 'a', baseURL: 'http://fine/v1', model: 'm' }, { id: 'b', baseURL, model: 'm' }];
      hasProblem(problems(input), 'models[1].baseURL', /http\(s\) URL/);
    }
  });

  it('rejects negative, NaN, infinite, out-of-range and non-integer numbers at their paths', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ roleStep: { inertia: -0.1 } }, 'roleStep.inertia'],
      [{ roleStep: { social: Number.NaN } }, 'roleStep.social'],
      [{ roleStep: { stepLength: 0 } }, 'roleStep.stepLength'],
      [{ roleStep: { stepLength: Infinity } }, 'roleStep.stepLength'],
      [{ roleStep: { particles: 1 } }, 'roleStep.particles'],
      [{ roleStep: { particles: 2.5 } }, 'roleStep.particles'],
      [{ roleStep: { restartPatience: 0 } }, 'roleStep.restartPatience'],
      [{ roleStep: { stepLengthFactor: 1.1 } }, 'roleStep.stepLengthFactor'],
      [{ patience: 0 }, 'patience'],
      [{ maxIterations: -1 }, 'maxIterations'],
      [{ seed: -1 }, 'seed'],
      [{ seed: 2 ** 32 }, 'seed'],
      [{ decode: { topP: 1.5 } }, 'decode.topP'],
      [{ generation: { temperature: Number.NaN } }, 'generation.temperature'],
      [{ evaluation: { maxUnparsableFraction: -0.5 } }, 'evaluation.maxUnparsableFraction'],
    ];
    for (const [patch, path] of cases) hasProblem(problems({ ...minimal(), ...patch }), path);
    hasProblem(problems({ ...minimal(), task: { path: 'x', type: 'exact_match', devFraction: 1 } }), 'task.devFraction');
    hasProblem(problems({ ...minimal(), task: { path: 'x', type: 'exact_match', lastTokens: -5 } }), 'task.lastTokens');
  });

  it('lists every problem, each with its own path', () => {
    const input = minimal();
    input.models = [{ id: 'ok', baseURL: 'http://x/v1', model: 'm' }, { id: 'bad id!', baseURL: 'nope', model: '', apiKeyEnv: 'sk-live-123' }];
    const list = problems({ ...input, roleStep: { inertia: -1 } });
    for (const path of ['models[1].id', 'models[1].baseURL', 'models[1].model', 'models[1].apiKeyEnv', 'roleStep.inertia']) hasProblem(list, path);
  });

  it('requires study, models and task', () => {
    const list = problems({});
    for (const path of ['study', 'models', 'task']) hasProblem(list, path);
    hasProblem(problems({ ...minimal(), models: [] }), 'models');
    hasProblem(problems({ ...minimal(), study: 'has/slash' }), 'study');
  });

  describe('weight step', () => {
    const withAdapters = (hotLoad?: string): Record<string, unknown> => {
      const config = minimal();
      config.models = (config.models as Record<string, unknown>[]).map((m, i) => ({
        ...m,
        adapter: { path: `adapters/${i}.gguf`, format: 'gguf', base: 'smollm2', ...(hotLoad === undefined ? {} : { hotLoad }) },
      }));
      return config;
    };

    it('defaults: on, M = 10 assignments, the role step\'s PSO coefficients, adapters hot-loaded via load_lora_adapter', () => {
      const config = ok(withAdapters());
      assert.deepEqual(config.weightStep, { enabled: true, assignments: 10 });
      assert.equal(config.models[0]!.adapter?.hotLoad, 'load_lora_adapter');
      assert.equal(weightStepActive(config), true);
      assert.equal(weightStepActive(ok(minimal())), false, 'no model has an adapter: role steps only');
      assert.equal(weightStepActive(ok({ ...withAdapters(), weightStep: { enabled: false } })), false);
      const pso = ok({ ...withAdapters(), weightStep: { pso: { inertia: 0.1 } } }).weightStep.pso;
      const { particles: _particles, ...roleDefaults } = ok(minimal()).roleStep;
      assert.deepEqual(pso, { ...roleDefaults, inertia: 0.1 }, 'a given pso block is completed with the paper defaults');
    });

    it('an endpoint that cannot hot-load adapters is rejected while the weight step is on, with the fix', () => {
      const list = problems(withAdapters('none'));
      hasProblem(list, 'models[0].adapter.hotLoad', /cannot hot-load.*load_lora_adapter|VLLM_ALLOW_RUNTIME_LORA_UPDATING/);
      hasProblem(list, 'models[1].adapter.hotLoad');
      ok({ ...withAdapters('none'), weightStep: { enabled: false } });
    });

    it('adapter fields are checked at their paths', () => {
      const config = withAdapters();
      (config.models as Record<string, unknown>[])[1]!.adapter = { path: '', format: 'onnx', extra: 1 };
      const list = problems(config);
      hasProblem(list, 'models[1].adapter.path');
      hasProblem(list, 'models[1].adapter.format');
      hasProblem(list, 'models[1].adapter.base');
      hasProblem(list, 'models[1].adapter.extra', /unknown key/);
      hasProblem(problems({ ...withAdapters(), weightStep: { assignments: 0 } }), 'weightStep.assignments');
      hasProblem(problems({ ...withAdapters(), weightStep: { pso: { particles: 3 } } }), 'weightStep.pso.particles', /unknown key/);
    });

    it('models sharing a base must share an adapter format (they form one swarm)', () => {
      const config = withAdapters();
      (config.models as { adapter: Record<string, unknown> }[])[1]!.adapter.format = 'peft';
      hasProblem(problems(config), 'models[1].adapter.format', /base "smollm2".*models\[0\] is "gguf"/);
      (config.models as { adapter: Record<string, unknown> }[])[1]!.adapter.base = 'other-base';
      ok(config);
    });

    it('PSO coefficients whose normalisation C would be 0 are rejected for either swarm', () => {
      const zero = { inertia: 0, cognitive: 0, social: 0, repel: 0.05, repelEnabled: false };
      hasProblem(problems({ ...minimal(), roleStep: zero }), 'roleStep', /must be > 0/);
      hasProblem(problems({ ...withAdapters(), weightStep: { pso: zero } }), 'weightStep.pso', /must be > 0/);
      ok({ ...minimal(), roleStep: { ...zero, repelEnabled: true } });
    });
  });

  it('formatPath', () => {
    assert.equal(formatPath(['models', 1, 'baseURL']), 'models[1].baseURL');
    assert.equal(formatPath(['dev', 3]), 'dev[3]');
    assert.equal(formatPath([]), '(root)');
  });

  it('searchConfigJsonSchema() describes the input file', () => {
    const schema = searchConfigJsonSchema() as { type?: string; properties?: Record<string, unknown>; required?: string[]; additionalProperties?: unknown };
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties?.study, 'properties.study');
    assert.ok(schema.properties?.models && schema.properties.roleStep && schema.properties.task);
    assert.deepEqual([...(schema.required ?? [])].sort(), ['models', 'study', 'task'], 'defaulted fields are optional in the input schema');
    assert.equal(schema.additionalProperties, false);
    assert.doesNotThrow(() => JSON.stringify(schema));
  });
});

describe('schema/search-config.schema.json', () => {
  it('is the JSON Schema generated from the zod config (regenerate with `npm run schema`)', () => {
    const committed = JSON.parse(readFileSync(path.resolve(__dirname, '../../schema/search-config.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(committed, JSON.parse(JSON.stringify(searchConfigJsonSchema())));
  });
});
