/** The real dependencies of the activities: openai client, on-disk call cache, blob store, task loader. */
import path from 'node:path';
import type { ActivityDeps } from '../activities';
import { createFsBlobStore } from '../activities/blob-store';
import { createFsCallCache } from '../activities/call-cache';
import { createKeyedLimiter } from '../activities/limiter';
import { createOpenAiLlmClient } from '../activities/llm-client';
import { createFsTaskLoader } from '../activities/task-loader';
import type { HsEnv } from './env';

export function createRealDeps(env: Pick<HsEnv, 'home' | 'dataRoot'>): ActivityDeps {
  return {
    // Temporal is the only retrier: the client is created with maxRetries 0 inside.
    llm: createOpenAiLlmClient({ apiKey: (name) => (name === undefined ? undefined : process.env[name]) }),
    cache: createFsCallCache(path.join(env.home, 'cache')),
    blobs: createFsBlobStore(path.join(env.home, 'blobs')),
    tasks: createFsTaskLoader({ dataRoot: env.dataRoot }),
    limiter: createKeyedLimiter(),
  };
}
