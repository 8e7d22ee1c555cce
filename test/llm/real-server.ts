/**
 * Test helper: the embedded LLM server in-process on a free port with the real SmolLM2 model, an openai client
 * for it, and the server's log entries.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { createLlamaEngine, type ChatEngine } from '../../llm/engine';
import { startLlmServer, type RunningLlmServer } from '../../llm/server';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const SMOLLM2 = path.join(REPO_ROOT, '.models', 'SmolLM2-135M-Instruct.Q4_1.gguf');

export interface TestLlmServer {
  engine: ChatEngine;
  server: RunningLlmServer;
  client: OpenAI;
  /** A temporary folder that is one of the roots (for adapters); removed by `stop`. */
  adapterRoot: string;
  /** Every log line the server wrote. */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startTestLlmServer(options: { bodyLimitBytes?: number } = {}): Promise<TestLlmServer> {
  const adapterRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-llm-test-'));
  const logs: Record<string, unknown>[] = [];
  const log = (entry: Record<string, unknown>): void => {
    logs.push(entry);
  };
  const engine = await createLlamaEngine({ models: [{ name: 'smollm2', path: SMOLLM2 }], roots: [path.dirname(SMOLLM2), adapterRoot], log });
  const server = await startLlmServer({ engine, port: 0, log, ...options });
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
  return {
    engine,
    server,
    client,
    adapterRoot,
    logs,
    stop: async () => {
      await server.close(2_000);
      await engine.close();
      fs.rmSync(adapterRoot, { recursive: true, force: true });
    },
  };
}
