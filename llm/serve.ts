/**
 * Runs the embedded OpenAI-compatible server as a process: loads the base models and start-up adapters,
 * listens, prints one line `{"baseURL":"http://HOST:PORT/v1"}` on stdout when ready, logs JSON lines to stderr,
 * and shuts down gracefully on SIGTERM/SIGINT (a second signal exits at once).
 */
import { type BaseModelSpec, type ChatEngine, createLlamaEngine } from './engine';
import { startLlmServer, type RunningLlmServer } from './server';

/** An adapter to load at start: `base` optional when there is one base model. */
export interface StartupAdapter {
  name: string;
  path: string;
  base?: string;
}

export interface ServeOptions {
  host: string;
  port: number;
  models: readonly BaseModelSpec[];
  adapters: readonly StartupAdapter[];
  roots: readonly string[];
  threads: number;
  contextSize?: number;
  sequencesPerContext?: number;
  maxContexts?: number;
}

/** A running server with its engine. */
export interface ServingLlm {
  baseURL: string;
  server: RunningLlmServer;
  engine: ChatEngine;
  /** Graceful: stop accepting, finish in-flight requests (up to `graceMs`), free the models. */
  close(graceMs?: number): Promise<void>;
}

/** Writes one JSON line. */
export function jsonLineLogger(stream: NodeJS.WritableStream): (entry: Record<string, unknown>) => void {
  return (entry) => {
    stream.write(`${JSON.stringify(entry)}\n`);
  };
}

/** Loads everything and listens; prints the ready line on `stdout`. Throws (and frees what it loaded) on failure. */
export async function startServing(options: ServeOptions, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Promise<ServingLlm> {
  const log = jsonLineLogger(stderr);
  const engine = await createLlamaEngine({
    models: options.models,
    roots: options.roots,
    threads: options.threads,
    log,
    ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
    ...(options.sequencesPerContext === undefined ? {} : { sequencesPerContext: options.sequencesPerContext }),
    ...(options.maxContexts === undefined ? {} : { maxContexts: options.maxContexts }),
  });
  let server: RunningLlmServer;
  try {
    for (const adapter of options.adapters) {
      await engine.loadAdapter({ name: adapter.name, path: adapter.path, ...(adapter.base === undefined ? {} : { base: adapter.base }) });
    }
    server = await startLlmServer({ engine, host: options.host, port: options.port, log });
  } catch (error) {
    await engine.close();
    throw error;
  }
  if (options.host !== '127.0.0.1' && options.host !== 'localhost' && options.host !== '::1') {
    log({ event: 'warning', message: `listening on ${options.host}: the server has no authentication; anyone who can reach it can run the models and load adapters from the roots` });
  }
  stdout.write(`${JSON.stringify({ baseURL: server.baseURL })}\n`);
  return {
    baseURL: server.baseURL,
    server,
    engine,
    close: async (graceMs?: number) => {
      await server.close(graceMs);
      await engine.close();
    },
  };
}

/** `startServing`, then waits for SIGTERM/SIGINT and shuts down. Resolves with the exit code. */
export async function serveUntilSignal(options: ServeOptions): Promise<number> {
  const serving = await startServing(options);
  const log = jsonLineLogger(process.stderr);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log({ event: 'shutdown', signal });
  const force = (): void => {
    log({ event: 'shutdown_forced' });
    process.exit(130);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await serving.close();
  log({ event: 'stopped' });
  return 0;
}
