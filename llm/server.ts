/**
 * The embedded OpenAI-compatible HTTP server (node:http, no framework) over a `ChatEngine`:
 *
 *   GET  /v1/models, /v1/models/{id}     base models and loaded adapters
 *   POST /v1/chat/completions            OpenAI chat completions (non-streaming), with `usage`
 *   POST /v1/load_lora_adapter           vLLM: { lora_name, lora_path, base_model_name?, scale? }
 *   POST /v1/unload_lora_adapter         vLLM: { lora_name }
 *   GET  /health                         200 once serving
 *
 * Every body is validated with zod; every failure is an OpenAI-style JSON error and never takes the server
 * down. A client that disconnects aborts its generation. One JSON log line per request.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatEngine } from './engine';
import { LlmError, RequestAbortedError, toLlmError } from './errors';
import { readJsonBody, sendError, sendJson } from './http-io';
import { toChatCompletion, toEngineRequest, toModelObject } from './openai-wire';
import { ChatCompletionBody, LoadLoraBody, parseBody, UnloadLoraBody } from './schemas';

export interface LlmServerOptions {
  engine: ChatEngine;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Largest accepted request body (default 4 MiB). */
  bodyLimitBytes?: number;
  /** One entry per request (and per server event); default: none. */
  log?: (entry: Record<string, unknown>) => void;
}

export interface RunningLlmServer {
  /** e.g. `http://127.0.0.1:8080/v1`: the `baseURL` for the openai client. */
  baseURL: string;
  port: number;
  server: http.Server;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to `graceMs` (default 10 s), then aborts
   * the rest. Does not close the engine.
   */
  close(graceMs?: number): Promise<void>;
}

/** What a route answers: status and JSON body, plus fields for the log line. */
interface RouteResult {
  status: number;
  body: unknown;
  log?: Record<string, unknown>;
}

type Route = (req: http.IncomingMessage, signal: AbortSignal, pathParam: string | undefined) => Promise<RouteResult>;

function routes(engine: ChatEngine, bodyLimitBytes: number): Record<string, Route> {
  const models = (): RouteResult => ({ status: 200, body: { object: 'list', data: engine.listModels().map(toModelObject) } });
  return {
    'GET /health': () => Promise.resolve({ status: 200, body: { status: 'ok' } }),
    'GET /v1/models': () => Promise.resolve(models()),
    'GET /v1/models/:id': (_req, _signal, id) => {
      const info = engine.listModels().find((m) => m.id === id);
      if (info === undefined) return Promise.reject(new LlmError(404, `The model "${id}" does not exist on this server.`, 'model_not_found', 'model'));
      return Promise.resolve({ status: 200, body: toModelObject(info) });
    },
    'POST /v1/chat/completions': async (req, signal) => {
      const body = parseBody(ChatCompletionBody, await readJsonBody(req, bodyLimitBytes));
      const result = await engine.chat(toEngineRequest(body, signal));
      return {
        status: 200,
        body: toChatCompletion(body.model, result),
        log: { model: body.model, prompt_tokens: result.promptTokens, completion_tokens: result.completionTokens, finish_reason: result.finishReason },
      };
    },
    'POST /v1/load_lora_adapter': async (req) => {
      const body = parseBody(LoadLoraBody, await readJsonBody(req, bodyLimitBytes));
      const { model, alreadyLoaded } = await engine.loadAdapter({
        name: body.lora_name,
        path: body.lora_path,
        ...(body.base_model_name === undefined ? {} : { base: body.base_model_name }),
        ...(body.scale === undefined ? {} : { scale: body.scale }),
      });
      const message = alreadyLoaded ? `LoRA adapter '${model.id}' was already loaded.` : `Success: LoRA adapter '${model.id}' added successfully.`;
      return { status: 200, body: { object: 'lora_adapter', id: model.id, parent: model.base ?? null, scale: model.scale ?? 1, already_loaded: alreadyLoaded, message }, log: { model: model.id } };
    },
    'POST /v1/unload_lora_adapter': async (req) => {
      const body = parseBody(UnloadLoraBody, await readJsonBody(req, bodyLimitBytes));
      await engine.unloadAdapter(body.lora_name);
      return { status: 200, body: { object: 'lora_adapter', id: body.lora_name, deleted: true, message: `Success: LoRA adapter '${body.lora_name}' removed successfully.` }, log: { model: body.lora_name } };
    },
  };
}

/** Finds the route for `method` + `pathname`: exact, or `/v1/models/{id}`. 404/405 otherwise. */
function findRoute(table: Record<string, Route>, method: string, pathname: string): { route: Route; param?: string } {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  const exact = table[`${method} ${path}`];
  if (exact !== undefined) return { route: exact };
  const modelMatch = /^\/v1\/models\/(.+)$/.exec(path);
  if (modelMatch !== null && method === 'GET') {
    const route = table['GET /v1/models/:id'];
    if (route !== undefined) return { route, param: decodeURIComponent(modelMatch[1] ?? '') };
  }
  const otherMethod = Object.keys(table).some((key) => key.endsWith(` ${path}`));
  if (otherMethod) throw new LlmError(405, `${method} is not allowed on ${path}`, 'method_not_allowed');
  throw new LlmError(404, `no such endpoint: ${method} ${path} (this server has /v1/models, /v1/chat/completions, /v1/load_lora_adapter, /v1/unload_lora_adapter)`, 'not_found');
}

/** The request handler: usable on any node:http server. Tracks in-flight requests for `closeGracefully`. */
export function createLlmRequestHandler(options: LlmServerOptions): {
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  inFlight: Set<AbortController>;
} {
  const log = options.log ?? (() => undefined);
  const table = routes(options.engine, options.bodyLimitBytes ?? 4 * 1024 * 1024);
  const inFlight = new Set<AbortController>();

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, controller: AbortController): Promise<void> {
    const started = Date.now();
    const id = randomUUID();
    const method = req.method ?? 'GET';
    let pathname = '/';
    let status = 500;
    let extra: Record<string, unknown> = {};
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      const { route, param } = findRoute(table, method, pathname);
      const result = await route(req, controller.signal, param);
      status = result.status;
      extra = result.log ?? {};
      sendJson(res, status, result.body, { 'x-request-id': id });
    } catch (error) {
      let llmError = toLlmError(error);
      if (res.destroyed) llmError = toLlmError(new RequestAbortedError('client disconnected'));
      else if (controller.signal.aborted) llmError = new LlmError(503, 'the server is shutting down', 'shutting_down');
      status = llmError.status;
      extra = { error: llmError.message, code: llmError.code };
      sendError(res, llmError);
    } finally {
      log({ time: new Date().toISOString(), id, method, path: pathname, status, ms: Date.now() - started, ...extra });
    }
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const controller = new AbortController();
    inFlight.add(controller);
    // `res` closes when the response is sent or the connection drops; only the latter aborts the work.
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new RequestAbortedError('client disconnected'));
    });
    serve(req, res, controller)
      .catch(() => undefined)
      .finally(() => inFlight.delete(controller));
  }

  return { handle, inFlight };
}

/** Starts the server; resolves once it listens. */
export async function startLlmServer(options: LlmServerOptions): Promise<RunningLlmServer> {
  const host = options.host ?? '127.0.0.1';
  const { handle, inFlight } = createLlmRequestHandler(options);
  const server = http.createServer(handle);
  server.requestTimeout = 0; // a long generation is not a slow client
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  async function closeGracefully(graceMs = 10_000): Promise<void> {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    for (const controller of inFlight) controller.abort(new RequestAbortedError('server shutting down'));
    server.closeAllConnections();
    await stopped;
  }

  return {
    baseURL: `http://${urlHost}:${port}/v1`,
    port,
    server,
    close: (graceMs?: number) => (closing ??= closeGracefully(graceMs)),
  };
}
