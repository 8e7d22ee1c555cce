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

/** Calls a model through the cache. */
export interface CachedLlm {
  /** `limit` bounds the in-flight calls to `req.endpoint` (key `baseURL|model`) in this process. */
  complete(req: ChatRequest, limit: number, signal?: AbortSignal): Promise<CachedCallResult>;
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

/** The cache key of a request (no adapter yet: base models only). */
export function requestCacheKey(req: ChatRequest): string {
  return callCacheKey({
    baseURL: req.endpoint.baseURL,
    model: req.endpoint.model,
    adapter: undefined,
    messages: req.messages,
    params: { maxTokens: req.maxTokens, temperature: req.temperature },
  });
}

/** A `CachedLlm` over the given client, cache and limiter. */
export function createCachedLlm(deps: CachedLlmDeps): CachedLlm {
  const flights = deps.flights ?? createSingleFlight<{ response: CachedCall; fromCache: boolean }>();
  return {
    async complete(req, limit, signal) {
      const key = requestCacheKey(req);
      const { value, shared } = await flights.run(key, signal, async (flightSignal) => {
        const hit = await deps.cache.get(key);
        if (hit !== undefined) return { response: hit, fromCache: true };
        const answer = await deps.limiter.run(endpointKey(req), limit, () => deps.llm.complete(req, flightSignal));
        const response: CachedCall = {
          text: answer.text,
          promptTokens: answer.promptTokens,
          completionTokens: answer.completionTokens,
          finishReason: answer.finishReason,
        };
        await deps.cache.put(key, response);
        return { response, fromCache: false };
      });
      return { response: value.response, source: shared ? 'shared' : value.fromCache ? 'cache' : 'call' };
    },
  };
}
