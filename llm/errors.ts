/**
 * Errors of the embedded LLM server, shaped like OpenAI's: every failure the HTTP edge can report is an
 * `LlmError` with an HTTP status, an OpenAI error `type`, a machine-readable `code` and the offending `param`.
 * Anything else that escapes is a bug and becomes a 500 `server_error`.
 */

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A failure with a definite HTTP status and an OpenAI-style description. */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly param: string | null = null,
    readonly type: string = defaultType(status),
  ) {
    super(message);
  }

  /** The wire body. */
  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 409) return 'conflict_error';
  if (status === 429 || status === 503) return 'overloaded_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** The request's model name is not served (404, as OpenAI answers `model_not_found`). */
export function modelNotFound(name: string, known: readonly string[]): LlmError {
  const list = known.length > 0 ? known.map((k) => `"${k}"`).join(', ') : 'none';
  return new LlmError(404, `The model "${name}" does not exist on this server; available models: ${list}.`, 'model_not_found', 'model');
}

/** The request was aborted (client disconnect, shutdown). Never sent to a client that is still listening. */
export class RequestAbortedError extends Error {
  override readonly name = 'RequestAbortedError';
  constructor(message = 'request aborted') {
    super(message);
  }
}

/** Converts anything thrown into an `LlmError`; unknown failures become a 500 with their message. */
export function toLlmError(error: unknown): LlmError {
  if (error instanceof LlmError) return error;
  if (error instanceof RequestAbortedError) return new LlmError(499, error.message, 'request_aborted');
  const detail = error instanceof Error ? error.message : String(error);
  return new LlmError(500, `internal error: ${detail}`, 'internal_error', null, 'server_error');
}
