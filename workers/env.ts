/**
 * Worker and CLI environment, parsed once with zod. API keys are NOT part of it: they are read by name
 * (a model's `apiKeyEnv`) at call time, only inside the worker.
 */
import path from 'node:path';
import { z } from 'zod';
import { parsePayloadKey } from './codec';

const EnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Local state: call cache, blobs, dev-server database, logs. */
  HS_HOME: z.string().min(1).optional(),
  /** Relative task paths in configs resolve against this directory. */
  HS_DATA_ROOT: z.string().min(1).optional(),
  /** Where the weight step writes adapter versions for endpoints to load; the endpoint must see the same
   * path (a shared volume at scale). Default $HS_HOME/adapters/versions (inside `hs llm serve`'s roots). */
  HS_ADAPTER_EXPORT_DIR: z.string().min(1).optional(),
  /** Optional: 32 bytes in base64; every payload is then encrypted with AES-256-GCM (workers/codec.ts). */
  HS_PAYLOAD_KEY: z.string().min(1).optional(),
  /** Max evaluation activities one worker runs at once (each runs many model calls). */
  HS_MAX_EVALUATIONS: z.coerce.number().int().min(1).max(1024).default(32),
});

export interface HsEnv {
  temporalAddress: string;
  namespace: string;
  home: string;
  dataRoot: string;
  adapterExportDir: string;
  maxEvaluations: number;
  /** The payload encryption key, when HS_PAYLOAD_KEY is set. */
  payloadKey: Buffer | undefined;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): HsEnv {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid environment:\n${lines}`);
  }
  const e = result.data;
  const home = path.resolve(cwd, e.HS_HOME ?? '.hs');
  return {
    temporalAddress: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    home,
    dataRoot: path.resolve(cwd, e.HS_DATA_ROOT ?? '.'),
    adapterExportDir: path.resolve(cwd, e.HS_ADAPTER_EXPORT_DIR ?? path.join(home, 'adapters', 'versions')),
    maxEvaluations: e.HS_MAX_EVALUATIONS,
    payloadKey: e.HS_PAYLOAD_KEY === undefined ? undefined : parsePayloadKey(e.HS_PAYLOAD_KEY),
  };
}
