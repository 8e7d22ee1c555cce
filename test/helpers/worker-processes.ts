/**
 * Worker processes (`hs worker`) for process-level tests: spawned against a given Temporal address and
 * `HS_HOME`, killed with any signal, and watched — a worker that exits on its own (non-zero, no signal) makes
 * every pending wait fail at once with its stderr instead of timing out. Everything the workers print is kept
 * (`output`), so a test can scan their logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { until } from './wait';

const REPO = path.resolve(__dirname, '../..');

export class WorkerProcesses {
  private readonly children: ChildProcess[] = [];
  /** Why a worker died on its own, if one did. */
  crash: string | undefined;
  /** Everything every worker printed (stdout and stderr), in arrival order. */
  private readonly chunks: string[] = [];
  /** What each worker printed, by process. */
  private readonly printed = new Map<ChildProcess, string>();

  constructor(private readonly address: () => string) {}

  /** Starts `hs worker` (all queues, or `queues` such as "hs-weights"), with extra environment `env`. */
  spawn(home: string, options: { queues?: string; env?: Record<string, string> } = {}): ChildProcess {
    const { queues, env = {} } = options;
    const args = [path.join(REPO, 'bin/hs.js'), 'worker', ...(queues === undefined ? [] : ['--queues', queues])];
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      env: { ...process.env, TEMPORAL_ADDRESS: this.address(), HS_HOME: home, HS_DATA_ROOT: REPO, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    this.printed.set(child, '');
    const keep = (chunk: Buffer): void => {
      this.chunks.push(chunk.toString());
      this.printed.set(child, this.printed.get(child) + chunk.toString());
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', (chunk: Buffer) => {
      keep(chunk);
      stderr = (stderr + chunk.toString()).slice(-4000);
      if (process.env.HS_TEST_VERBOSE) process.stderr.write(chunk);
    });
    child.once('exit', (code, signal) => {
      if (signal === null && code !== 0) this.crash = `worker (${queues ?? 'all queues'}) exited with code ${code}:\n${stderr}`;
    });
    this.children.push(child);
    return child;
  }

  /** Sends `signal` and waits for the exit. */
  async stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  /** Waits until `child` polls its task queues (it logged "hs worker polling …"), and returns that log line. */
  async polling(child: ChildProcess, timeoutMs = 120_000): Promise<string> {
    const line = (): string | undefined => this.printed.get(child)?.split('\n').find((l) => l.includes('hs worker polling'));
    await this.until(`worker ${child.pid} to poll`, () => line() !== undefined, { timeoutMs, intervalMs: 50 });
    return line()!;
  }

  /** Everything the workers printed so far. */
  output(): string {
    return this.chunks.join('');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((c) => this.stop(c, 'SIGKILL')));
  }

  /** `until`, failing at once if a worker crashed. */
  until(what: string, predicate: () => boolean | Promise<boolean>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
    return until(what, predicate, { timeoutMs: 120_000, intervalMs: 20, ...options, abort: () => this.crash });
  }

  /** `result`, or the crash of a worker if one happens first. */
  async resultOrCrash<T>(result: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const crashed = new Promise<never>((_, reject) => {
      timer = setInterval(() => this.crash !== undefined && reject(new Error(this.crash)), 100);
    });
    try {
      return await Promise.race([result, crashed]);
    } finally {
      clearInterval(timer);
    }
  }
}
