/**
 * The chat engine behind the embedded OpenAI-compatible server. A *model name* is either a base model (a GGUF
 * file) or a LoRA adapter (an adapter GGUF applied with a scale on top of one base). The HTTP layer speaks
 * only this interface; `createLlamaEngine` implements it over node-llama-cpp.
 */

/** One chat message, as in OpenAI's `messages` (text content only). */
export interface EngineMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One chat completion request, already validated. */
export interface EngineChatRequest {
  model: string;
  messages: readonly EngineMessage[];
  /** Tokens to generate at most; default: whatever fits in the context after the prompt. */
  maxTokens?: number;
  /** 0 (default) = greedy and deterministic. */
  temperature?: number;
  topP?: number;
  topK?: number;
  /** Sampling seed (only matters with temperature > 0); same seed + same request ⇒ same text. */
  seed?: number;
  /** Generation stops before any of these strings; the string itself is not returned. */
  stop?: readonly string[];
  /** OpenAI-style penalties in [-2, 2]; 0 = off. */
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** llama.cpp-style multiplicative repeat penalty; 1 (default) = off. */
  repeatPenalty?: number;
  /** Constrain the answer: any JSON object, or JSON matching a (GBNF-expressible) JSON Schema. */
  responseFormat?: { type: 'json_object' } | { type: 'json_schema'; schema: Record<string, unknown> };
  /** Aborts queueing or generation (client disconnect); the promise then rejects with `RequestAbortedError`. */
  signal?: AbortSignal;
}

/** A finished chat completion. */
export interface EngineChatResult {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: 'stop' | 'length';
}

/** A model name the engine serves. */
export interface ModelInfo {
  id: string;
  kind: 'base' | 'adapter';
  /** For an adapter: the base model name it applies to. */
  base?: string;
  /** Real path of the GGUF file (the adapter's file for an adapter). */
  path: string;
  /** LoRA scale (adapters only). */
  scale?: number;
  /** Unix seconds when it became available. */
  created: number;
}

/** Registers a LoRA adapter under a new model name. */
export interface LoadAdapterRequest {
  name: string;
  /** Path of the adapter GGUF, confined to the engine's roots. */
  path: string;
  /** Base model name; optional when exactly one base is loaded. */
  base?: string;
  /** LoRA scale, default 1. */
  scale?: number;
}

/** The outcome of `loadAdapter`: `alreadyLoaded` when the same name, file content, base and scale were loaded. */
export interface LoadAdapterResult {
  model: ModelInfo;
  alreadyLoaded: boolean;
}

export interface ChatEngine {
  /** Base models first, then adapters, each in load order. */
  listModels(): ModelInfo[];
  /** Throws `LlmError` (404 unknown model, 400 prompt too long, 503 overloaded) or `RequestAbortedError`. */
  chat(request: EngineChatRequest): Promise<EngineChatResult>;
  /**
   * Makes `name` usable at once. Idempotent for an identical request; 409 if `name` is taken otherwise;
   * 403/400 for paths outside the roots, missing files and files that are not LoRA adapters of the base.
   */
  loadAdapter(request: LoadAdapterRequest): Promise<LoadAdapterResult>;
  /** Removes `name` (404 if unknown; base models cannot be unloaded). In-flight requests on it finish first. */
  unloadAdapter(name: string): Promise<void>;
  /** Aborts nothing by itself: waits for in-flight work, then frees contexts, adapters and models. */
  close(): Promise<void>;
}

export { createLlamaEngine, type LlamaEngineOptions, type BaseModelSpec } from './llama-engine';
