/** A small study config against fake endpoints, for workflow and e2e tests. */
import path from 'node:path';
import type { SearchConfigInput } from '../../workflows/core/config';

export const TINY_TASK = path.resolve(__dirname, '../fixtures/studies/arith-tiny.jsonl');

export function tinyStudy(study: string, baseURL: string, overrides: Partial<SearchConfigInput> = {}): SearchConfigInput {
  return {
    study,
    models: [
      { id: 'alpha', baseURL, model: 'fake-alpha' },
      { id: 'beta', baseURL, model: 'fake-beta' },
      { id: 'gamma', baseURL, model: 'fake-gamma' },
    ],
    task: { path: TINY_TASK, type: 'multiple_choice' },
    roleStep: { particles: 4 },
    maxIterations: 2,
    seed: 7,
    evaluation: { heartbeatTimeoutSeconds: 5 },
    // Baselines have their own tests (test/workflows/baselines.test.ts); the others study the search alone.
    baselines: [],
    ...overrides,
  };
}

/**
 * A joint (role + weight step) study whose models are LoRA experts `<adaptersDir>/<id>.gguf` served by the
 * fake vLLM at `baseURL` as `fake-<id>` over the base `fake-base`.
 */
export function jointStudy(study: string, baseURL: string, adaptersDir: string, ids: readonly string[], overrides: Partial<SearchConfigInput> = {}): SearchConfigInput {
  return {
    study,
    models: ids.map((id) => ({ id, baseURL, model: `fake-${id}`, adapter: { path: path.join(adaptersDir, `${id}.gguf`), format: 'gguf' as const, base: 'fake-base' } })),
    task: { path: TINY_TASK, type: 'multiple_choice' },
    baselines: [],
    ...overrides,
  };
}
