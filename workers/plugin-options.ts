/**
 * Options of `HeterogeneousSwarmsPlugin`, validated with zod. Every option defaults to the worker environment
 * (workers/env.ts: HS_HOME, HS_DATA_ROOT, HS_ADAPTER_EXPORT_DIR, HS_PAYLOAD_KEY, HS_MAX_EVALUATIONS, HS_MAX_WEIGHT_UPDATES), so
 * `new HeterogeneousSwarmsPlugin()` behaves as `hs worker` does in the same environment.
 */
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';
import { TASK_QUEUES, type TaskQueue } from '../workflows/core/names';
import { parsePayloadKey } from './codec';
import { readEnv } from './env';

const PathSchema = z.string().min(1, 'must be a non-empty path');

const OptionsSchema = z.strictObject({
  /** Call cache, blobs, evaluation ledger (default HS_HOME, else `.hs`). */
  home: PathSchema.optional(),
  /** Relative task and adapter paths of study configs resolve against it (default HS_DATA_ROOT, else cwd). */
  dataRoot: PathSchema.optional(),
  /** Where adapter versions are written for endpoints to load (default HS_ADAPTER_EXPORT_DIR, else $home/adapters/versions). */
  adapterExportDir: PathSchema.optional(),
  /** 32 bytes in base64: seal every payload with AES-256-GCM (default HS_PAYLOAD_KEY); `null` turns it off. */
  payloadKey: z.string().nullable().optional(),
  /** Our task queues this process serves (default all three); `[]` for a process that only starts studies. */
  queues: z
    .array(z.enum(TASK_QUEUES))
    .refine((qs) => new Set(qs).size === qs.length, 'lists a queue twice')
    .optional(),
  /** Max concurrent evaluations on `hs-llm` (default HS_MAX_EVALUATIONS, else 32). */
  maxEvaluations: z.number().int().min(1).max(1024).optional(),
  /** Max concurrent tensor activities on `hs-weights` (default HS_MAX_WEIGHT_UPDATES, else 4). */
  maxWeightUpdates: z.number().int().min(1).max(64).optional(),
  /** A bundle of `workflows/` built ahead (`bundleWorkflowCode`); otherwise the `hs` worker bundles at start. */
  workflowBundle: z
    .custom<NonNullable<WorkerOptions['workflowBundle']>>((v) => typeof v === 'object' && v !== null && ('code' in v || 'codePath' in v), 'must be a workflow bundle ({ code } or { codePath }, from bundleWorkflowCode)')
    .optional(),
});

export type HeterogeneousSwarmsPluginOptions = z.input<typeof OptionsSchema>;

/** The options with every default applied and every path absolute. */
export interface PluginSettings {
  home: string;
  dataRoot: string;
  adapterExportDir: string;
  payloadKey: Buffer | undefined;
  queues: readonly TaskQueue[];
  maxEvaluations: number;
  maxWeightUpdates: number;
  workflowBundle: WorkerOptions['workflowBundle'];
}

function keyOf(base64: string | null | undefined, fallback: Buffer | undefined): Buffer | undefined {
  if (base64 === null) return undefined;
  if (base64 === undefined) return fallback;
  try {
    return parsePayloadKey(base64);
  } catch {
    throw new Error('Invalid HeterogeneousSwarmsPlugin options:\n  payloadKey: must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)');
  }
}

/** Validates `input` and fills the defaults from `env`; throws one error naming every bad option. */
export function parsePluginOptions(input: unknown, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): PluginSettings {
  const result = OptionsSchema.safeParse(input ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(options)'}: ${i.message}`).join('\n');
    throw new Error(`Invalid HeterogeneousSwarmsPlugin options:\n${lines}`);
  }
  const o = result.data;
  const fromEnv = readEnv(env, cwd);
  const home = o.home === undefined ? fromEnv.home : path.resolve(cwd, o.home);
  const exportDir = o.adapterExportDir ?? env.HS_ADAPTER_EXPORT_DIR ?? path.join(home, 'adapters', 'versions');
  return {
    home,
    dataRoot: o.dataRoot === undefined ? fromEnv.dataRoot : path.resolve(cwd, o.dataRoot),
    adapterExportDir: path.resolve(cwd, exportDir),
    payloadKey: keyOf(o.payloadKey, fromEnv.payloadKey),
    queues: o.queues ?? TASK_QUEUES,
    maxEvaluations: o.maxEvaluations ?? fromEnv.maxEvaluations,
    maxWeightUpdates: o.maxWeightUpdates ?? fromEnv.maxWeightUpdates,
    workflowBundle: o.workflowBundle,
  };
}
