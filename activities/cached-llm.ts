/**
 * Model calls through the call cache: a cache hit costs nothing, a miss is sent under the endpoint's
 * concurrency limit and then stored; identical calls in flight at once in this process are sent once
 * (single flight). This is what makes retried and resumed evaluations free for finished calls.
 */
import { callCacheKey, type CachedCall, type CallCache } from './call-cache';
import type { KeyedLimiter } from './limiter';
import type { ChatRequest, LlmClient } from './llm-client';
import { createSingleFlight, type SingleFlight } from './single-flight';

/** Where an answer came from: `call` = sent to the endpoint by this caller (paid). */
export type CallSource = 'call' | 'cache' | 'shared';

/** A model call answered from the cache or the endpoint. */
export interface CachedCallResult {
  response: CachedCall;
  source: CallSource;
}

/** Thrown instead of calling when the caller's evaluation stopped while the call waited for a slot. */
export class EvaluationStopped extends Error {
  override readonly name = 'EvaluationStopped';
}

/** Per-call options of `CachedLlm.complete`. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  stop?: AbortSignal | undefined;
  onCallError?: ((error: unknown) => void) | undefined;
}

/** Calls a model through the cache. */
export interface CachedLlm {
  /**
   * `limit` bounds the in-flight calls to `req.endpoint` (key `baseURL|model`) in this process. `signal`
   * (activity cancellation) aborts the call; once `stop` has aborted, a call still waiting for a slot is not
   * sent (`EvaluationStopped`), while one already sent finishes and is cached. `onCallError` sees a failed
   * call before its endpoint slot is released, so a caller can stop before the next queued call starts.
   */
  complete(req: ChatRequest, limit: number, options?: CallOptions): Promise<CachedCallResult>;
}

/** Dependencies of `createCachedLlm`; `flights` defaults to a new single-flight group. */
export interface CachedLlmDeps {
  llm: LlmClient;
  cache: CallCache;
  limiter: KeyedLimiter;
  flights?: SingleFlight<{ response: CachedCall; fromCache: boolean }>;
}

/** The limiter key of an endpoint: one lane per (baseURL, model). */
export const endpointKey = (req: Pick<ChatRequest, 'endpoint'>): string => `${req.endpoint.baseURL}|${req.endpoint.model}`;

/** The cache key of a request; the adapter hash (if the endpoint's model is a LoRA adapter) is part of it. */
export function requestCacheKey(req: ChatRequest): string {
  return callCacheKey({
    baseURL: req.endpoint.baseURL,
    model: req.endpoint.model,
    adapter: req.endpoint.adapterSha256,
    messages: req.messages,
    params: { maxTokens: req.maxTokens, temperature: req.temperature },
  });
}

/** A `CachedLlm` over the given client, cache and limiter. */
export function createCachedLlm(deps: CachedLlmDeps): CachedLlm {
  const flights = deps.flights ?? createSingleFlight<{ response: CachedCall; fromCache: boolean }>();
  return {
    async complete(req, limit, options = {}) {
      const { signal, stop, onCallError } = options;
      const stopped = (): boolean => stop?.aborted === true;
      const key = requestCacheKey(req);
      const send = async (flightSignal: AbortSignal): Promise<{ response: CachedCall; fromCache: boolean }> => {
        const hit = await deps.cache.get(key);
        if (hit !== undefined) return { response: hit, fromCache: true };
        const answer = await deps.limiter.run(endpointKey(req), limit, async () => {
          if (stopped()) throw new EvaluationStopped('evaluation stopping: call not sent');
          try {
            return await deps.llm.complete(req, flightSignal);
          } catch (error) {
            onCallError?.(error);
            throw error;
          }
        });
        const response: CachedCall = {
          text: answer.text,
          promptTokens: answer.promptTokens,
          completionTokens: answer.completionTokens,
          finishReason: answer.finishReason,
        };
        await deps.cache.put(key, response);
        return { response, fromCache: false };
      };
      for (;;) {
        if (stopped()) throw new EvaluationStopped('evaluation stopping: call not sent');
        try {
          const { value, shared } = await flights.run(key, signal, send);
          return { response: value.response, source: shared ? 'shared' : value.fromCache ? 'cache' : 'call' };
        } catch (error) {
          // Joined a call whose own evaluation stopped before sending it: ours goes on, so send it ourselves.
          if (error instanceof EvaluationStopped && !stopped()) continue;
          throw error;
        }
      }
    },
  };
}
