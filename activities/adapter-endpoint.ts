/**
 * Publishing adapter versions to a model endpoint through the runtime LoRA API of vLLM (and of `hs llm
 * serve`): `POST {baseURL}/load_lora_adapter {lora_name, lora_path, base_model_name}` and
 * `POST {baseURL}/unload_lora_adapter {lora_name}`. vLLM reads `lora_path` on its own host, so the adapter
 * export directory must be shared (same path) between the weights workers and the endpoint.
 */
import type { ModelSpec } from '../workflows/core/config';
import { FailureType, failureTypeForStatus } from '../workflows/core/errors';
import { ModelCallError, parseRetryAfterMs } from './llm-client';

export interface LoadAdapterRequest {
  /** The model name requests will use for this version. */
  name: string;
  /** Where the endpoint reads it: a GGUF file or a PEFT directory. */
  path: string;
  /** The base model's name on the endpoint. */
  base: string;
}

/** The runtime LoRA API of an endpoint. Failures are `ModelCallError`s (classified like model calls). */
export interface AdapterEndpoint {
  load(spec: ModelSpec, request: LoadAdapterRequest, signal?: AbortSignal): Promise<'loaded' | 'already-loaded'>;
  unload(spec: ModelSpec, name: string, signal?: AbortSignal): Promise<'unloaded' | 'absent'>;
}

export interface HttpAdapterEndpointOptions {
  apiKey: (envName: string | undefined) => string | undefined;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const ALREADY_LOADED = /already (been )?loaded/i;
/** An unload answer that says THIS adapter is not loaded (vLLM, `hs llm serve`) — not a 404 for the route. */
const adapterMissing = (text: string, name: string): boolean => text.includes(name) && /not (be )?found|cannot be found|does not exist|is not loaded|no lora adapter named/i.test(text);

/** The runtime LoRA API over HTTP (global fetch). */
export function createHttpAdapterEndpoint(options: HttpAdapterEndpointOptions): AdapterEndpoint {
  const doFetch = options.fetch ?? fetch;
  const post = async (spec: ModelSpec, route: string, body: unknown, signal?: AbortSignal): Promise<{ status: number; text: string; headers: Headers }> => {
    const url = `${spec.baseURL.replace(/\/$/, '')}/${route}`;
    const apiKey = options.apiKey(spec.apiKeyEnv);
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 120_000);
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }) },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      return { status: response.status, text: await response.text(), headers: response.headers };
    } catch (error) {
      if (signal?.aborted === true) throw error;
      const timedOut = timeout.aborted;
      const detail = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new ModelCallError(
        `model "${spec.id}": ${route} at ${spec.baseURL} ${timedOut ? 'timed out' : `failed: ${detail}`}`,
        timedOut ? FailureType.ModelTimeout : FailureType.ModelNetwork,
      );
    }
  };
  const failure = (spec: ModelSpec, route: string, r: { status: number; text: string; headers: Headers }): ModelCallError =>
    new ModelCallError(
      `model "${spec.id}": ${route} at ${spec.baseURL}: HTTP ${r.status}: ${r.text.slice(0, 500)}${r.status === 404 ? ' (does the endpoint support runtime LoRA loading? vLLM needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)' : ''}`,
      failureTypeForStatus(r.status),
      r.status,
      parseRetryAfterMs(r.headers),
    );
  return {
    async load(spec, request, signal) {
      const r = await post(spec, 'load_lora_adapter', { lora_name: request.name, lora_path: request.path, base_model_name: request.base }, signal);
      if (r.status === 200) return /"already_loaded"\s*:\s*true/.test(r.text) ? 'already-loaded' : 'loaded';
      if (r.status === 400 && ALREADY_LOADED.test(r.text)) return 'already-loaded';
      throw failure(spec, 'load_lora_adapter', r);
    },
    async unload(spec, name, signal) {
      const r = await post(spec, 'unload_lora_adapter', { lora_name: name }, signal);
      if (r.status === 200) return 'unloaded';
      if ((r.status === 404 || r.status === 400) && adapterMissing(r.text, name)) return 'absent';
      throw failure(spec, 'unload_lora_adapter', r);
    },
  };
}
