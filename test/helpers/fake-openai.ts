/**
 * A real HTTP server speaking the OpenAI chat-completions wire format, for tests: deterministic answers,
 * scriptable answers, fault injection (HTTP errors with headers, connection resets, stalls), and a record of
 * every request. Also run as a standalone process by `fake-openai-main.ts` for multi-process tests.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalJson } from '../../activities/canonical-json';

/** One chat message as received. */
export interface FakeMessage {
  role: string;
  content: string;
}

/** A request the server received. */
export interface RecordedRequest {
  /** 1-based arrival number over the server's life. */
  n: number;
  method: string;
  path: string;
  model: string;
  messages: FakeMessage[];
  maxTokens: number | undefined;
  temperature: number | undefined;
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  /** sha256 hex of the canonical JSON body: equal for re-sent requests. */
  key: string;
  /** How many requests with this key arrived so far, this one included. */
  attempt: number;
  /** Content of the last user message. */
  prompt: string;
  /** Arrival time (ms since the epoch). */
  receivedAt: number;
}

/**
 * Fault to inject for one request: `'reset'` destroys the connection; an object delays by `delayMs` and
 * then answers with `status` (and `headers`, `body`) or, without `status`, normally. A body of `200` replaces
 * the normal completion (e.g. `{ choices: [] }`); `rawBody` is sent as it is (e.g. truncated JSON), with
 * status `status` (default 200).
 */
export type FakeFault = 'reset' | { status?: number; headers?: Record<string, string>; body?: unknown; rawBody?: string; delayMs?: number };

/** Options of the fake server. */
export interface FakeOpenAiOptions {
  /** The answer text for a request (default: `defaultAnswer(model, prompt)`). */
  respond?: (req: RecordedRequest) => string;
  /** Fault injection; `n` is the request's arrival number. Return `undefined` to answer normally. */
  fail?: (req: RecordedRequest, n: number) => FakeFault | undefined;
  /** Latency added to every chat request (ms). */
  delayMs?: number;
  /** Called for every recorded request (e.g. to append it to a log file). */
  onRequest?: (req: RecordedRequest) => void;
  /** Model ids listed by GET /v1/models. */
  models?: string[];
  /** Extra JSON routes, keyed "METHOD /path" (e.g. "POST /v1/load_lora_adapter"): body in, status + body out. */
  routes?: Record<string, (body: unknown) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown }>;
  port?: number;
  host?: string;
}

/** A running fake server. */
export interface FakeOpenAi {
  /** `http://127.0.0.1:PORT/v1` */
  baseURL: string;
  /** Chat-completion requests in arrival order. */
  requests: RecordedRequest[];
  /** Most chat requests in flight at the same time so far. */
  readonly maxInFlight: number;
  /** Chat requests in flight now. */
  readonly inFlight: number;
  setFail(fail: FakeOpenAiOptions['fail']): void;
  setRespond(respond: FakeOpenAiOptions['respond']): void;
  setDelayMs(ms: number): void;
  /** Ends every pending delay now: the delayed requests are answered at once. */
  wakeAll(): void;
  /** Forgets recorded requests and the in-flight maximum. */
  reset(): void;
  close(): Promise<void>;
}

const hashOf = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Option letters of a multiple-choice prompt ("A: text" lines), in order. */
export function optionLetters(prompt: string): string[] {
  return [...prompt.matchAll(/^([A-Z]): /gm)].map((m) => m[1]!);
}

/** The question of a task prompt (the text after the last "Question: ", up to the end of its line). */
export function questionOf(prompt: string): string {
  const at = prompt.lastIndexOf('Question: ');
  const rest = at < 0 ? prompt : prompt.slice(at + 'Question: '.length);
  return rest.split('\n')[0]!;
}

/**
 * Deterministic answer depending only on (model, prompt): one of the prompt's option letters, or "The
 * answer is <0..99>" when the prompt has no options.
 */
export function defaultAnswer(model: string, prompt: string): string {
  const h = hashOf(`${model}\n${prompt}`);
  const letters = optionLetters(prompt);
  if (letters.length > 0) return letters[h.readUInt32BE(0) % letters.length]!;
  return `The answer is ${h.readUInt32BE(0) % 100}`;
}

const words = (text: string): number => text.split(/\s+/).filter((w) => w !== '').length;

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function asMessages(value: unknown): FakeMessage[] {
  if (!Array.isArray(value)) return [];
  return value.map((m: unknown) => {
    const r = (typeof m === 'object' && m !== null ? m : {}) as { role?: unknown; content?: unknown };
    return { role: String(r.role), content: typeof r.content === 'string' ? r.content : JSON.stringify(r.content) };
  });
}

/** Starts the fake server on 127.0.0.1 (port 0 = any free port). */
export async function startFakeOpenAi(options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  let fail = options.fail;
  let respond = options.respond ?? ((r: RecordedRequest) => defaultAnswer(r.model, r.prompt));
  let delayMs = options.delayMs ?? 0;
  let requests: RecordedRequest[] = [];
  const attempts = new Map<string, number>();
  let arrivals = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  /** Pending delays: timer → wake it now (answer at once). */
  const timers = new Map<NodeJS.Timeout, () => void>();

  const sleep = (ms: number, res: http.ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve(true);
      const end = (answer: boolean) => (): void => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(answer);
      };
      const timer = setTimeout(end(true), ms);
      timers.set(timer, end(true));
      res.on('close', end(false));
    });

  const chat = async (req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void> => {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return sendJson(res, 400, { error: { message: 'body is not a JSON object', type: 'invalid_request_error', code: null } });
    }
    const messages = asMessages(body.messages);
    const key = createHash('sha256').update(canonicalJson(body)).digest('hex');
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const n = ++arrivals;
    const record: RecordedRequest = {
      n,
      method: req.method ?? '',
      path: req.url ?? '',
      model: String(body.model),
      messages,
      maxTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
      temperature: typeof body.temperature === 'number' ? body.temperature : undefined,
      authorization: req.headers.authorization,
      key,
      attempt,
      prompt: [...messages].reverse().find((m) => m.role === 'user')?.content ?? '',
      receivedAt: Date.now(),
    };
    requests.push(record);
    options.onRequest?.(record);

    const fault = fail?.(record, n);
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (!(await sleep(delayMs + (fault?.delayMs ?? 0), res))) return;
    if (fault?.rawBody !== undefined) {
      res.writeHead(fault.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(fault.rawBody) });
      res.end(fault.rawBody);
      return;
    }
    if (fault?.status !== undefined) {
      const status = fault.status;
      const errorBody = fault.body ?? { error: { message: `injected failure ${status}`, type: 'fake_error', code: String(status) } };
      return sendJson(res, status, errorBody, fault.headers);
    }
    const content = respond(record);
    sendJson(res, 200, {
      id: `chatcmpl-fake-${n}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: record.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: words(record.prompt), completion_tokens: words(content), total_tokens: words(record.prompt) + words(content) },
    });
  };

  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && url === '/v1/models') {
      const ids = options.models ?? ['fake-model'];
      return sendJson(res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })) });
    }
    if (req.method === 'POST' && url === '/v1/chat/completions') {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let counted = true;
      const release = (): void => {
        if (counted) inFlight--;
        counted = false;
      };
      res.on('close', release);
      readBody(req)
        .then((text) => chat(req, res, text))
        .catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: { message: String(error), type: 'fake_bug', code: null } });
        });
      return;
    }
    const route = options.routes?.[`${req.method ?? ''} ${url ?? ''}`];
    if (route !== undefined) {
      readBody(req)
        .then(async (text) => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            return sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error', code: null } });
          }
          const answer = await route(body);
          sendJson(res, answer.status, answer.body);
        })
        .catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: { message: String(error), type: 'fake_bug', code: null } });
        });
      return;
    }
    sendJson(res, 404, { error: { message: `no route ${req.method ?? ''} ${url ?? ''}`, type: 'invalid_request_error', code: null } });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://${options.host ?? '127.0.0.1'}:${port}/v1`,
    get requests() {
      return requests;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get inFlight() {
      return inFlight;
    },
    setFail(next) {
      fail = next;
    },
    setRespond(next) {
      respond = next ?? ((r: RecordedRequest) => defaultAnswer(r.model, r.prompt));
    },
    setDelayMs(ms) {
      delayMs = ms;
    },
    wakeAll() {
      for (const wake of [...timers.values()]) wake();
    },
    reset() {
      requests = [];
      attempts.clear();
      maxInFlight = inFlight;
    },
    close() {
      for (const t of timers.keys()) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
