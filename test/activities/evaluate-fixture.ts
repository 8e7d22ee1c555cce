/**
 * Shared setup of the evaluation tests: the hand-written 4-item multiple-choice task, two fake models on
 * one fake server with scripted answers, fresh stores per test, and request builders.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import * as path from 'node:path';
import { createFsBlobStore, type BlobStore } from '../../activities/blob-store';
import { createFsCallCache, type CallCache } from '../../activities/call-cache';
import { createEvaluationActivities, type EvaluationDeps } from '../../activities/evaluate';
import { createKeyedLimiter } from '../../activities/limiter';
import { createOpenAiLlmClient } from '../../activities/llm-client';
import { createFsTaskLoader } from '../../activities/task-loader';
import { TaskSpecSchema, type ModelSpec } from '../../workflows/core/config';
import type { DecodedGraph } from '../../workflows/core/dag';
import type { EvaluationRequest, EvaluationResult } from '../../workflows/core/evaluation';
import { questionOf, startFakeOpenAi, type FakeOpenAi, type RecordedRequest } from '../helpers/fake-openai';
import { tmpDirs } from './tmp-dir';

export const TASKS = path.resolve(__dirname, '../fixtures/tasks');
export const MC_SPEC = TaskSpecSchema.parse({ path: 'mc-paper.json', type: 'multiple_choice' });

/** 0 → 1 → 2 (sink 2). */
export const CHAIN: DecodedGraph = { n: 3, edges: [[0, 1], [1, 2]], sink: 2, order: [0, 1, 2] };
/** 0 → 2 ← 1 (sink 2). */
export const IN_TREE: DecodedGraph = { n: 3, edges: [[0, 2], [1, 2]], sink: 2, order: [0, 1, 2] };

/** What fake-alpha answers at a node with predecessors: 3 of the 4 dev items right (103 wrong). */
export const ALPHA_FINAL: Record<string, string> = {
  'Which colour is the sky on a clear day?': 'B',
  'How many legs does a spider have?': 'The answer is C.',
  'Which of these is a prime number?': 'D',
  'What do bees make?': '(D) honey',
};
/** What fake-beta answers when it sees two previous responses: always right. */
export const BETA_FINAL: Record<string, string> = {
  'Which colour is the sky on a clear day?': 'B',
  'How many legs does a spider have?': 'C',
  'Which of these is a prime number?': 'A',
  'What do bees make?': 'D',
};

/**
 * Scripted answers: a source node says "<model> notes:\n…" (a newline, to check cleaning); fake-alpha later
 * answers from ALPHA_FINAL; fake-beta answers from BETA_FINAL with two previous responses, else "beta reviewed it".
 */
export function scripted(req: RecordedRequest): string {
  const q = questionOf(req.prompt);
  if (req.prompt.startsWith('Please answer the following question.\n')) return `${req.model} notes:\nthe question is "${q}"`;
  if (req.model === 'fake-alpha') return ALPHA_FINAL[q] ?? 'no idea';
  return req.prompt.includes('Previous response 2: ') ? (BETA_FINAL[q] ?? 'no idea') : 'beta reviewed it';
}

export const models = (fake: FakeOpenAi): ModelSpec[] => [
  { id: 'alpha', baseURL: fake.baseURL, model: 'fake-alpha' },
  { id: 'beta', baseURL: fake.baseURL, model: 'fake-beta' },
];

/** A fresh world: stores in new temp dirs (or the given cache dir), real client, shared limiter. */
export interface World {
  deps: EvaluationDeps;
  cacheDir: string;
  blobs: BlobStore;
  cache: CallCache;
}

const dirs = tmpDirs('evaluate');
export const cleanupWorlds = (): Promise<void> => dirs.cleanup();

export async function makeWorld(options: { cacheDir?: string; cache?: CallCache } = {}): Promise<World> {
  const cacheDir = options.cacheDir ?? (await dirs.make());
  const blobs = createFsBlobStore(await dirs.make());
  const cache = options.cache ?? createFsCallCache(cacheDir);
  const deps: EvaluationDeps = {
    llm: createOpenAiLlmClient({ apiKey: () => undefined }),
    cache,
    blobs,
    tasks: createFsTaskLoader({ dataRoot: TASKS }),
    limiter: createKeyedLimiter(),
    heartbeatIntervalMs: 50,
  };
  return { deps, cacheDir, blobs, cache };
}

export async function taskSha(): Promise<string> {
  return (await createFsTaskLoader({ dataRoot: TASKS }).load(MC_SPEC)).sha256;
}

export function evaluationRequest(fake: FakeOpenAi, sha256: string, overrides: Partial<EvaluationRequest> = {}): EvaluationRequest {
  return {
    label: { study: 'unit', iteration: 0, step: 'role', particle: 0 },
    split: 'dev',
    graph: CHAIN,
    assignment: [0, 1, 0],
    models: models(fake),
    task: { spec: MC_SPEC, sha256 },
    generation: { maxTokens: 50, temperature: 0, newlineToSpace: true },
    concurrency: 2,
    maxUnparsableFraction: 0.5,
    maxErrorFraction: 0,
    requestTimeoutSeconds: 10,
    ...overrides,
  };
}

const silent = (): void => undefined;
/** A MockActivityEnvironment whose logger is silent (failures are asserted, not logged). */
export const quietEnv = (): MockActivityEnvironment =>
  new MockActivityEnvironment(undefined, { logger: { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent } });

/** Runs `evaluateSystem` in a fresh (quiet) MockActivityEnvironment, collecting heartbeats. */
export async function runEvaluation(
  deps: EvaluationDeps,
  request: EvaluationRequest,
  env: MockActivityEnvironment = quietEnv(),
): Promise<{ result: EvaluationResult; heartbeats: unknown[] }> {
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const { evaluateSystem } = createEvaluationActivities(deps);
  const result = await env.run<[EvaluationRequest], EvaluationResult, typeof evaluateSystem>(evaluateSystem, request);
  return { result, heartbeats };
}

/** Number of requests per body key. */
export function countByKey(requests: readonly RecordedRequest[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
  return counts;
}

/**
 * Mocha hooks shared by the evaluation suites: one scripted fake server per suite, the task hash, and a
 * clean server (no faults, no delay, scripted answers, no recorded requests) before every test.
 */
export function useScriptedFake(ready: (fake: FakeOpenAi, sha: string) => void): void {
  let fake: FakeOpenAi | undefined;
  before(async () => {
    const started = await startFakeOpenAi({ respond: scripted });
    fake = started;
    ready(started, await taskSha());
  });
  after(async () => {
    await fake?.close();
    await cleanupWorlds();
  });
  beforeEach(() => {
    fake?.reset();
    fake?.setFail(undefined);
    fake?.setRespond(scripted);
    fake?.setDelayMs(0);
  });
}
