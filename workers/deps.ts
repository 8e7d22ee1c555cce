/** The real dependencies of the activities: openai client, runtime-LoRA endpoint client, on-disk call cache,
 * blob store, evaluation ledger, task loader. */
import path from 'node:path';
import type { ActivityDeps } from '../activities';
import { createHttpAdapterEndpoint } from '../activities/adapter-endpoint';
import { createFsBlobStore } from '../activities/blob-store';
import { createFsCallCache } from '../activities/call-cache';
import { createFsLedger } from '../activities/ledger';
import { createKeyedLimiter } from '../activities/limiter';
import { createOpenAiLlmClient } from '../activities/llm-client';
import { createFsTaskLoader } from '../activities/task-loader';
import type { HsEnv } from './env';

export function createRealDeps(env: Pick<HsEnv, 'home' | 'dataRoot'> & Partial<Pick<HsEnv, 'adapterExportDir'>>): ActivityDeps {
  const apiKey = (name: string | undefined): string | undefined => (name === undefined ? undefined : process.env[name]);
  return {
    // Temporal is the only retrier: the client is created with maxRetries 0 inside.
    llm: createOpenAiLlmClient({ apiKey }),
    adapterEndpoint: createHttpAdapterEndpoint({ apiKey }),
    dataRoot: env.dataRoot,
    exportDir: env.adapterExportDir ?? path.join(env.home, 'adapters', 'versions'),
    cache: createFsCallCache(path.join(env.home, 'cache')),
    blobs: createFsBlobStore(path.join(env.home, 'blobs')),
    ledger: createFsLedger(path.join(env.home, 'ledger')),
    tasks: createFsTaskLoader({ dataRoot: env.dataRoot }),
    limiter: createKeyedLimiter(),
  };
}
