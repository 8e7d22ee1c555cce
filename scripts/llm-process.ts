/**
 * The embedded LLM server as a child process (`hs llm serve`), for the demo and the real-model tests:
 * spawns it on a free port and resolves once it prints its base URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './dev-server';

export interface LlmServerProcess {
  baseURL: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startLlmServer(args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): Promise<LlmServerProcess> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/hs.js'), 'llm', 'serve', '--port', '0', ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const baseURL = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hs llm serve did not start within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { baseURL?: unknown };
        if (typeof parsed.baseURL === 'string') {
          clearTimeout(timer);
          resolve(parsed.baseURL);
        }
      } catch {
        // not the ready line
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`hs llm serve exited (${code ?? signal}) before it was ready:\n${stderr}`));
    });
  });
  return { baseURL, child, stop };
}
