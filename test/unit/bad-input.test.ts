/**
 * Bad study configs (test/fixtures/bad-input/configs): each is rejected by the file reader behind `hs validate`
 * and `hs start` with a problem at the field's path and a message that says what is wrong, and `hs start` exits
 * before it connects to Temporal.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfigFile } from '../../scripts/config-file';
import { studyCommand } from '../../scripts/commands/study';
import { parseSearchConfig, type ConfigProblem } from '../../workflows/core/config';

const DIR = path.resolve(__dirname, '../fixtures/bad-input/configs');

/** File → the path of the expected problem and what its message must say. */
const EXPECTED: Record<string, { path: string; message: RegExp }> = {
  // Wrong types.
  'particles-string.json': { path: 'roleStep.particles', message: /expected number, received string/ },
  'temperature-string.json': { path: 'generation.temperature', message: /expected number, received string/ },
  'seed-fraction.json': { path: 'seed', message: /expected int/ },
  'root-array.json': { path: '(root)', message: /expected object, received array/ },
  // Missing fields.
  'missing-study.json': { path: 'study', message: /required: expected string, but the field is missing/ },
  'missing-models.json': { path: 'models', message: /required: expected array, but the field is missing/ },
  'missing-task.json': { path: 'task', message: /required: expected object, but the field is missing/ },
  'missing-task-type.json': { path: 'task.type', message: /expected one of "multiple_choice"\|"exact_match"/ },
  // Unknown keys; API keys are pointed to the environment.
  'unknown-top-level-key.json': { path: 'maxIteration', message: /unknown key \(check the spelling/ },
  'unknown-nested-key.json': { path: 'roleStep.inertai', message: /unknown key \(check the spelling/ },
  'api-key-top-level.json': { path: 'api_key', message: /API keys never go in a config — put the key in the worker's environment and name that variable in "apiKeyEnv"/ },
  'api-key-in-model.json': { path: 'models[0].apiKey', message: /API keys never go in a config.*"apiKeyEnv"/ },
  'api-key-env-holds-key.json': { path: 'models[0].apiKeyEnv', message: /NAME of an environment variable .*never the key itself/ },
  // Zero / negative sizes.
  'particles-zero.json': { path: 'roleStep.particles', message: />=2/ },
  'dev-limit-negative.json': { path: 'task.devLimit', message: />0/ },
  'concurrency-zero.json': { path: 'concurrency', message: />=1/ },
  'model-concurrency-negative.json': { path: 'models[0].concurrency', message: />=1/ },
  'assignments-zero.json': { path: 'weightStep.assignments', message: />=1/ },
  'models-empty.json': { path: 'models', message: />=1 items/ },
  // Out-of-range, non-finite and huge numbers.
  'top-p-negative.json': { path: 'decode.topP', message: />=0/ },
  'dev-fraction-one.json': { path: 'task.devFraction', message: /<1/ },
  'inertia-1e400.json': { path: 'roleStep.inertia', message: /must be a finite number, got Infinity/ },
  'weight-pso-social-minus-1e999.json': { path: 'weightStep.pso.social', message: /must be a finite number, got -Infinity/ },
  'max-iterations-huge.json': { path: 'maxIterations', message: /<=100000/ },
  'seed-huge.json': { path: 'seed', message: /<=4294967295/ },
  'pso-weights-all-zero.json': { path: 'roleStep', message: /inertia \+ cognitive \+ social .* must be > 0/ },
  // Bad strings.
  'base-url-ftp.json': { path: 'models[0].baseURL', message: /must be an http\(s\) URL/ },
  'base-url-no-scheme.json': { path: 'models[0].baseURL', message: /must be an http\(s\) URL/ },
  'study-path-traversal.json': { path: 'study', message: /use letters, digits/ },
  'adapter-sha-uppercase.json': { path: 'models[0].adapterSha256', message: /lowercase hex sha256/ },
  // Cross-field rules.
  'duplicate-model-id.json': { path: 'models[1].id', message: /duplicate model id "small" \(also models\[0\]\)/ },
  'hot-load-none-with-weight-step.json': { path: 'models[0].adapter.hotLoad', message: /cannot hot-load adapters.*weightStep\.enabled to false/ },
  'mixed-adapter-formats.json': { path: 'models[1].adapter.format', message: /must share an adapter format \(models\[0\] is "gguf"\)/ },
  // Bytes that are not a JSON document.
  'inertia-nan.json': { path: '(file)', message: /inertia-nan\.json is not valid JSON at line 3, column 28: .*JSON has no NaN or Infinity/ },
  'trailing-comma.json': { path: '(file)', message: /trailing-comma\.json is not valid JSON at line 4, column 1: / },
  'truncated.json': { path: '(file)', message: /truncated\.json is not valid JSON at line 4, column 1 \(the text ends before the JSON is complete\)/ },
  'empty.json': { path: '(file)', message: /empty\.json is empty/ },
  'non-utf8-latin1.json': { path: '(file)', message: /non-utf8-latin1\.json is not valid UTF-8/ },
  'non-utf8-stray-byte.json': { path: '(file)', message: /non-utf8-stray-byte\.json is not valid UTF-8/ },
};

/** The corpus may grow, never shrink silently. */
const MIN_CASES = 39;

function hasProblem(list: readonly ConfigProblem[], where: string, message: RegExp): void {
  const hit = list.find((p) => p.path === where && message.test(p.message));
  assert.ok(hit, `no problem at ${where} matching ${String(message)}; got ${JSON.stringify(list)}`);
}

/** The file's text when it is UTF-8 JSON (so it can also go straight to `parseSearchConfig`). */
function jsonOf(file: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file))) as unknown };
  } catch {
    return undefined;
  }
}

describe('bad input: study configs', () => {
  const files = readdirSync(DIR).sort();

  it(`the corpus has at least ${MIN_CASES} cases, each with an expectation`, () => {
    assert.deepEqual(files, Object.keys(EXPECTED).sort(), 'every file in configs/ has an entry in EXPECTED and vice versa');
    assert.ok(files.length >= MIN_CASES, `${files.length} cases`);
  });

  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name} → ${expected.path}`, () => {
      const file = path.join(DIR, name);
      const loaded = loadConfigFile(file);
      if (loaded.ok) assert.fail(`${name} was accepted`);
      hasProblem(loaded.problems, expected.path, expected.message);
      const json = jsonOf(file);
      if (json !== undefined) {
        const parsed = parseSearchConfig(json.value);
        assert.equal(parsed.ok, false);
        if (!parsed.ok) assert.deepEqual(parsed.problems, loaded.problems, 'the reader adds nothing to parseSearchConfig');
      }
    });
  }

  describe('hs start <bad config> exits 2 before it connects to Temporal', () => {
    const saved = { address: process.env.TEMPORAL_ADDRESS, error: console.error };
    let printed: string[] = [];
    before(() => {
      // Unreachable: if validation ever let a bad config through, `start` would fail to connect instead of
      // starting a workflow on a server that happens to be running.
      process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
      console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
    });
    after(() => {
      console.error = saved.error;
      if (saved.address === undefined) delete process.env.TEMPORAL_ADDRESS;
      else process.env.TEMPORAL_ADDRESS = saved.address;
    });
    beforeEach(() => (printed = []));

    for (const [name, expected] of Object.entries(EXPECTED)) {
      it(name, async () => {
        assert.equal(await studyCommand('start', [path.join(DIR, name)]), 2);
        const lines = printed.join('\n');
        assert.match(lines, /\d+ problems?/);
        assert.ok(lines.includes(`  ${expected.path}: `), `the printed problems name ${expected.path}:\n${lines}`);
      });
    }
  });
});
