/**
 * Small node:http helpers for the LLM server: read a JSON body under a size limit, send JSON, send an
 * OpenAI-style error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LlmError, RequestAbortedError } from './errors';

/**
 * Reads and parses the body. 413 `body_too_large` past `limitBytes` (the rest of the body is discarded, not
 * read into memory), 400 `invalid_json` if it is not JSON.
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const text = await new Promise<string>((resolve, reject) => {
    const tooLarge = (): void => {
      req.removeAllListeners('data');
      req.resume();
      reject(new LlmError(413, `request body exceeds the limit of ${limitBytes} bytes`, 'body_too_large'));
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) tooLarge();
      else chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', () => reject(new RequestAbortedError('the client closed the connection while sending the body')));
  });
  if (text.trim() === '') throw new LlmError(400, 'the request body is empty; send a JSON object', 'invalid_json');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new LlmError(400, `the request body is not valid JSON: ${detail}`, 'invalid_json');
  }
}

/** Sends `body` as JSON with `status` (no-op if the client is gone or a response was already sent). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers });
  res.end(payload);
}

/**
 * Sends `error` as `{ error: { message, type, param, code } }`. After a 413 the connection is closed: the rest of
 * the body is not worth reading.
 */
export function sendError(res: ServerResponse, error: LlmError): void {
  const headers: Record<string, string> = error.status === 413 ? { connection: 'close' } : {};
  if (error.status === 503) headers['retry-after'] = '1';
  sendJson(res, error.status, error.toBody(), headers);
}
