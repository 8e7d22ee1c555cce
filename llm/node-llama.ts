/**
 * The one door to `node-llama-cpp`: it is ESM-only with top-level await, so this CommonJS code loads it with a
 * dynamic `import()` (a `require` fails with ERR_REQUIRE_ASYNC_MODULE) and imports its types with
 * `resolution-mode: import`. Also the CPU-only `Llama` instance every engine shares.
 */
import os from 'node:os';
import type * as NodeLlamaCpp from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { Llama } from 'node-llama-cpp' with { 'resolution-mode': 'import' };

export type NodeLlamaCppModule = typeof NodeLlamaCpp;

let loading: Promise<NodeLlamaCppModule> | undefined;

/** Imports `node-llama-cpp` once. */
export function loadNodeLlamaCpp(): Promise<NodeLlamaCppModule> {
  loading ??= import('node-llama-cpp');
  return loading;
}

/**
 * Generation threads when none are given: every core but one (at most 4), at least 1. llama.cpp's threads
 * spin-wait on each other, so a thread that shares its core with any busy process stalls all of them: measured
 * on 2 cores with one busy competitor, 2 threads ran at 12.6 tokens/s and 1 thread at 44; alone on the machine,
 * 2 threads gain only ~10 % over 1. The core left over keeps the Temporal server and workers responsive.
 */
export function defaultThreads(cores: number = os.availableParallelism()): number {
  return Math.max(1, Math.min(4, cores - 1));
}

/**
 * A CPU `Llama` using the prebuilt binary (never builds from source, never probes a GPU) and at most
 * `maxThreads` threads across all of its contexts, so concurrent contexts share the cores instead of
 * oversubscribing them.
 */
export async function getCpuLlama(maxThreads: number): Promise<Llama> {
  const nlc = await loadNodeLlamaCpp();
  return await nlc.getLlama({ build: 'never', gpu: false, maxThreads, logLevel: nlc.LlamaLogLevel.error, progressLogs: false });
}
