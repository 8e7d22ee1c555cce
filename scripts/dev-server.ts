/**
 * The embedded Temporal server: `temporal server start-dev` with a SQLite file, so studies survive a server
 * restart. Used by `hs server` (detached, pid file) and by tests (child process on free ports).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../workflows/core/names';

export const REPO_ROOT = path.resolve(__dirname, '..');

/** The project-installed CLI (scripts/setup.sh); HS_TEMPORAL_BIN overrides. */
export function temporalBinary(): string {
  const bin = process.env.HS_TEMPORAL_BIN ?? path.join(REPO_ROOT, '.tools', 'bin', 'temporal');
  if (!fs.existsSync(bin)) throw new Error(`Temporal CLI not found at ${bin}: run \`bash scripts/setup.sh\` (or npm test / npm run demo, which run it).`);
  return bin;
}

export interface DevServerOptions {
  dbFile: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  /** No Web UI (tests). */
  headless?: boolean;
  logFile: string;
}

/** `--search-attribute` flags for our custom search attributes. */
export function searchAttributeArgs(): string[] {
  return Object.values(SEARCH_ATTRIBUTES).flatMap((a) => ['--search-attribute', `${a.name}=${a.type}`]);
}

export function devServerArgs(o: DevServerOptions): string[] {
  return [
    'server', 'start-dev',
    '--ip', o.ip ?? '127.0.0.1',
    '--port', String(o.port ?? 7233),
    ...(o.headless ? ['--headless'] : ['--ui-port', String(o.uiPort ?? (o.port ?? 7233) + 1000)]),
    '--db-filename', o.dbFile,
    '--log-level', 'warn',
    ...searchAttributeArgs(),
  ];
}

/** Spawns the dev server; `detached` keeps it running after this process exits. */
export function spawnDevServer(o: DevServerOptions, detached: boolean): ChildProcess {
  fs.mkdirSync(path.dirname(o.dbFile), { recursive: true });
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const log = fs.openSync(o.logFile, 'a');
  const child = spawn(temporalBinary(), devServerArgs(o), { detached, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  if (detached) child.unref();
  return child;
}

/** Resolves once the frontend answers, or throws after `timeoutMs`. */
export async function waitForServer(address: string, timeoutMs = 30_000, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (alive && !alive()) throw new Error(`Temporal server exited before answering on ${address}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal server did not answer on ${address} within ${timeoutMs} ms: ${String(lastError)}`);
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
