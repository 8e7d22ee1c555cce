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
    ...overrides,
  };
}
