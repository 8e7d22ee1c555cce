/**
 * A Temporal dev server as a separate process on a SQLite file, for process-level tests: a client connected to
 * it, `kill` with any signal, and `restart` on the same file and port.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, spawnDevServer, waitForServer } from '../../scripts/dev-server';
import { tempDir } from './temporal';

export interface DevServerProcess {
  address: string;
  client: Client;
  /** Sends `signal` to the server and waits for it to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same SQLite file and port, and waits until it answers. */
  restart(): Promise<void>;
  /** Closes the client and kills the server. */
  close(): Promise<void>;
}

export async function startDevServerProcess(prefix: string): Promise<DevServerProcess> {
  const dir = tempDir(prefix);
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  let server: ChildProcess;
  const start = async (): Promise<void> => {
    const child = spawnDevServer({ dbFile: path.join(dir, 'temporal.db'), port, headless: true, logFile: path.join(dir, 'temporal.log') }, false);
    server = child;
    await waitForServer(address, 60_000, () => child.exitCode === null && child.signalCode === null);
  };
  await start();
  const connection = await Connection.connect({ address });
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill(signal);
    await exited;
  };
  return {
    address,
    client: new Client({ connection }),
    kill,
    restart: start,
    close: async () => {
      await connection.close();
      await kill('SIGKILL');
    },
  };
}
