/**
 * Worker and CLI environment, parsed once with zod. Model API keys are NOT part of it: they are read by name
 * (a model's `apiKeyEnv`) at call time, only inside the worker. The Temporal connection (address, namespace, TLS,
 * API key) is described in `temporal-connection.ts`.
 */
import path from 'node:path';
import { z } from 'zod';
import { parsePayloadKey } from './codec';
import { TemporalEnvSchema, temporalEnvIssues, temporalSettings, type EnvIssue, type TemporalConnectionSettings } from './temporal-connection';

const EnvSchema = TemporalEnvSchema.extend({
  /** Local state: call cache, blobs, dev-server database, logs. */
  HS_HOME: z.string().min(1).optional(),
  /** Relative task paths in configs resolve against this directory. */
  HS_DATA_ROOT: z.string().min(1).optional(),
  /** Where the weight step writes adapter versions for endpoints to load; the endpoint must see the same
   * path (a shared volume at scale). Default $HS_HOME/adapters/versions (inside `hs llm serve`'s roots). */
  HS_ADAPTER_EXPORT_DIR: z.string().min(1).optional(),
  /** Optional: 32 bytes in base64; every payload is then encrypted with AES-256-GCM (workers/codec.ts). */
  HS_PAYLOAD_KEY: z.string().min(1).optional(),
  /** `hs-llm`: max evaluation activities one worker runs at once (each runs many model calls). */
  HS_MAX_EVALUATIONS: z.coerce.number().int().min(1).max(1024).default(32),
  /** `hs-weights`: max adapter activities (tensor PSO updates, imports, publishing) one worker runs at once. */
  HS_MAX_WEIGHT_UPDATES: z.coerce.number().int().min(1).max(64).default(4),
  /** `hs`: max workflow tasks one worker processes at once (the SDK's default, 40; at least 2 with the cache on). */
  HS_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(1).max(10_000).default(40),
  /** `hs`: workflow executions one worker keeps cached (sticky; 0 = no cache); default: the SDK's, from the memory size. */
  HS_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).optional(),
});

export interface HsEnv {
  temporalAddress: string;
  namespace: string;
  /** Address, namespace, TLS and API key: see `temporalConnectionOptions`. */
  temporal: TemporalConnectionSettings;
  home: string;
  dataRoot: string;
  adapterExportDir: string;
  /** Concurrency of one worker process, per task queue. */
  maxEvaluations: number;
  maxWeightUpdates: number;
  maxWorkflowTasks: number;
  /** `undefined`: the SDK's default. */
  maxCachedWorkflows: number | undefined;
  /** The payload encryption key, when HS_PAYLOAD_KEY is set. */
  payloadKey: Buffer | undefined;
}

/** Cross-field rules of the worker knobs (the SDK would otherwise silently change the values). */
function knobIssues(e: z.infer<typeof EnvSchema>): EnvIssue[] {
  const cached = e.HS_MAX_CACHED_WORKFLOWS;
  if (cached === 0) return [];
  if (e.HS_MAX_WORKFLOW_TASKS < 2) return [{ variable: 'HS_MAX_WORKFLOW_TASKS', message: 'must be at least 2 while the workflow cache is on (or set HS_MAX_CACHED_WORKFLOWS=0)' }];
  if (cached === undefined) return [];
  if (cached === 1) return [{ variable: 'HS_MAX_CACHED_WORKFLOWS', message: 'must be 0 (no cache) or at least 2' }];
  if (e.HS_MAX_WORKFLOW_TASKS > cached) return [{ variable: 'HS_MAX_WORKFLOW_TASKS', message: `is ${e.HS_MAX_WORKFLOW_TASKS} but may not exceed HS_MAX_CACHED_WORKFLOWS (${cached}) while the cache is on` }];
  return [];
}

export function readEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): HsEnv {
  const result = EnvSchema.safeParse(env);
  // Messages name the variable, never its value (some are secrets).
  const issues: EnvIssue[] = result.success
    ? [...temporalEnvIssues(result.data), ...knobIssues(result.data)]
    : result.error.issues.map((i) => ({ variable: i.path.join('.'), message: i.message }));
  if (!result.success || issues.length > 0) {
    throw new Error(`Invalid environment:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
  }
  const e = result.data;
  const home = path.resolve(cwd, e.HS_HOME ?? '.hs');
  return {
    temporalAddress: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    temporal: temporalSettings(e, cwd),
    home,
    dataRoot: path.resolve(cwd, e.HS_DATA_ROOT ?? '.'),
    adapterExportDir: path.resolve(cwd, e.HS_ADAPTER_EXPORT_DIR ?? path.join(home, 'adapters', 'versions')),
    maxEvaluations: e.HS_MAX_EVALUATIONS,
    maxWeightUpdates: e.HS_MAX_WEIGHT_UPDATES,
    maxWorkflowTasks: e.HS_MAX_WORKFLOW_TASKS,
    maxCachedWorkflows: e.HS_MAX_CACHED_WORKFLOWS,
    payloadKey: e.HS_PAYLOAD_KEY === undefined ? undefined : parsePayloadKey(e.HS_PAYLOAD_KEY),
  };
}
