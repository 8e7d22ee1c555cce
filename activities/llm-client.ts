/**
 * The model-call port of the activities and its OpenAI-compatible implementation (the `openai` SDK with
 * `maxRetries: 0`: Temporal is the only retrier). Every failure becomes a `ModelCallError` classified by the
 * error taxonomy (design.md §5); API keys never appear in errors or logs.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ModelSpec } from '../workflows/core/config';
import { FailureType, failureTypeForStatus } from '../workflows/core/errors';

/** One chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One chat completion request. */
export interface ChatRequest {
  endpoint: ModelSpec;
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

/** A chat completion. An empty or missing answer is `text: ''`, not an error (the scorer counts it unparsable). */
export interface ChatResponse {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: string | null;
}

/** Calls chat models. Throws `ModelCallError`, or the signal's reason when `signal` aborts. */
export interface LlmClient {
  complete(req: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
}

/** A failed model call, classified by `type` (a `FailureType`). */
export class ModelCallError extends Error {
  override readonly name = 'ModelCallError';
  constructor(
    message: string,
    readonly type: FailureType,
    readonly status?: number,
    /** Server-requested wait before retrying (`retry-after-ms` / `retry-after`). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** True when `error` is a `ModelCallError` (also across module copies: checks the shape, not the class). */
export function isModelCallError(error: unknown): error is ModelCallError {
  return error instanceof Error && error.name === 'ModelCallError' && typeof (error as { type?: unknown }).type === 'string';
}

/** Header lookup that works for `Headers` and plain records. */
type HeaderSource = { get(name: string): string | null } | Record<string, string | undefined> | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | undefined>;
  return record[name] ?? record[name.toLowerCase()];
}

/**
 * Milliseconds to wait from `retry-after-ms` (ms) or `retry-after` (seconds, or an HTTP date relative to
 * `nowMs`); `undefined` when absent or unparsable. Never negative.
 */
export function parseRetryAfterMs(headers: HeaderSource, nowMs: number = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms')?.trim();
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = header(headers, 'retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The endpoint without user info, for messages. */
function endpointLabel(spec: ModelSpec): string {
  let base = spec.baseURL;
  try {
    const url = new URL(spec.baseURL);
    url.username = '';
    url.password = '';
    base = url.toString().replace(/\/$/, '');
  } catch {
    // keep as is: the config schema already validated it as a URL
  }
  return `model "${spec.id}" (${spec.model} at ${base})`;
}

function redact(text: string, secret: string | undefined): string {
  return secret !== undefined && secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}

/** Converts anything the SDK throws into a `ModelCallError` (the caller handles aborts first). */
export function classifyOpenAiError(error: unknown, spec: ModelSpec, apiKey?: string): ModelCallError {
  const where = endpointLabel(spec);
  if (error instanceof APIConnectionTimeoutError) return new ModelCallError(`${where}: request timed out`, FailureType.ModelTimeout);
  if (error instanceof APIConnectionError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return new ModelCallError(redact(`${where}: connection failed${cause}`, apiKey), FailureType.ModelNetwork);
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const retryAfterMs = parseRetryAfterMs(error.headers as Headers | undefined);
    return new ModelCallError(redact(`${where}: HTTP ${status}: ${error.message}`, apiKey), failureTypeForStatus(status), status, retryAfterMs);
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ModelCallError(redact(`${where}: unexpected failure: ${detail}`, apiKey), FailureType.ModelServerError);
}

const tokens = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0);

/** Reads a chat completion body defensively: no choices or no content is an empty answer. */
export function readCompletion(body: unknown): ChatResponse | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const doc = body as { choices?: unknown; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null };
  const first: unknown = Array.isArray(doc.choices) ? doc.choices[0] : undefined;
  const choice = typeof first === 'object' && first !== null ? (first as { message?: { content?: unknown } | null; finish_reason?: unknown }) : undefined;
  const content = choice?.message?.content;
  return {
    text: typeof content === 'string' ? content : '',
    promptTokens: tokens(doc.usage?.prompt_tokens),
    completionTokens: tokens(doc.usage?.completion_tokens),
    finishReason: typeof choice?.finish_reason === 'string' ? choice.finish_reason : null,
  };
}

/** Placeholder key for local servers that need none (the SDK insists on a non-empty key). */
const NO_KEY = 'unused';

/**
 * `LlmClient` over OpenAI-compatible endpoints. `apiKey(envName)` reads the worker's environment (the config
 * holds only variable names); models without `apiKeyEnv` get a placeholder key. One SDK client per
 * (baseURL, key), reused.
 */
export function createOpenAiLlmClient(opts: { apiKey: (envName: string | undefined) => string | undefined }): LlmClient {
  const clients = new Map<string, OpenAI>();

  const clientFor = (baseURL: string, apiKey: string, timeoutMs: number): OpenAI => {
    const id = `${baseURL}\u0000${apiKey}`;
    let client = clients.get(id);
    if (client === undefined) {
      client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: timeoutMs });
      clients.set(id, client);
    }
    return client;
  };

  return {
    async complete(req, signal) {
      signal?.throwIfAborted();
      const spec = req.endpoint;
      let apiKey = NO_KEY;
      if (spec.apiKeyEnv !== undefined) {
        const value = opts.apiKey(spec.apiKeyEnv);
        if (value === undefined || value === '') {
          throw new ModelCallError(`${endpointLabel(spec)}: environment variable ${spec.apiKeyEnv} is not set on this worker`, FailureType.ModelAuth);
        }
        apiKey = value;
      }
      const client = clientFor(spec.baseURL, apiKey, req.timeoutMs);
      let body: unknown;
      try {
        body = await client.chat.completions.create(
          { model: spec.model, messages: req.messages, max_tokens: req.maxTokens, temperature: req.temperature },
          { signal: signal ?? null, timeout: req.timeoutMs, maxRetries: 0 },
        );
      } catch (error) {
        if (signal?.aborted === true) throw signal.reason;
        if (error instanceof APIUserAbortError) throw new ModelCallError(`${endpointLabel(spec)}: request aborted`, FailureType.ModelNetwork);
        throw classifyOpenAiError(error, spec, apiKey);
      }
      const response = readCompletion(body);
      if (response === undefined) {
        throw new ModelCallError(
          `${endpointLabel(spec)}: the endpoint did not answer in the OpenAI chat-completions format (check baseURL; it usually ends in /v1)`,
          FailureType.ModelNotFound,
        );
      }
      return response;
    },
  };
}
