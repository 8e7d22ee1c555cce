/** `hs server start|stop|status`: the embedded dev server on 127.0.0.1:7233, Web UI on :8233, SQLite file. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readEnv } from '../../workers/env';
import { isAlive, spawnDevServer, waitForServer } from '../dev-server';

function pidFile(home: string): string {
  return path.join(home, 'temporal.pid');
}

function readPid(home: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(home), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function serverCommand(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      port: { type: 'string', default: '7233' },
      'ui-port': { type: 'string', default: '8233' },
    },
  });
  const env = readEnv();
  const action = positionals[0] ?? 'status';
  const port = Number(values.port);
  const address = `127.0.0.1:${port}`;
  const running = readPid(env.home);
  switch (action) {
    case 'start': {
      if (running !== undefined) {
        console.log(`Temporal dev server already running (pid ${running}) on ${address}; Web UI http://127.0.0.1:${values['ui-port']}`);
        return 0;
      }
      const dbFile = path.resolve(values.db ?? path.join(env.home, 'temporal.db'));
      const logFile = path.join(env.home, 'temporal.log');
      const child = spawnDevServer({ dbFile, port, uiPort: Number(values['ui-port']), logFile }, true);
      if (child.pid === undefined) throw new Error('could not start the Temporal dev server');
      fs.mkdirSync(env.home, { recursive: true });
      fs.writeFileSync(pidFile(env.home), String(child.pid));
      await waitForServer(address, 30_000, () => isAlive(child.pid!));
      console.log(`Temporal dev server started (pid ${child.pid}) on ${address}, database ${dbFile}`);
      console.log(`Web UI: http://127.0.0.1:${values['ui-port']}   log: ${logFile}`);
      return 0;
    }
    case 'stop': {
      if (running === undefined) {
        console.log('Temporal dev server is not running');
        return 0;
      }
      process.kill(running, 'SIGTERM');
      const deadline = Date.now() + 15_000;
      while (isAlive(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (isAlive(running)) process.kill(running, 'SIGKILL');
      fs.rmSync(pidFile(env.home), { force: true });
      console.log(`Temporal dev server stopped (pid ${running})`);
      return 0;
    }
    case 'status': {
      if (running === undefined) {
        console.log('Temporal dev server: not running (start it with `npx hs server start`)');
        return 1;
      }
      await waitForServer(address, 3_000);
      console.log(`Temporal dev server: running (pid ${running}) on ${address}; Web UI http://127.0.0.1:${values['ui-port']}`);
      return 0;
    }
    default:
      console.error(`unknown server action "${action}" (start|stop|status)`);
      return 2;
  }
}
