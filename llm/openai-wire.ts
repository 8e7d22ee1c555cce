/**
 * OpenAI wire format ↔ engine types: a validated chat-completions body becomes an `EngineChatRequest`, an
 * `EngineChatResult` becomes a `chat.completion` object, a `ModelInfo` becomes a `model` object.
 */
import { randomUUID } from 'node:crypto';
import type { EngineChatRequest, EngineChatResult, EngineMessage, ModelInfo } from './engine';
import type { ChatCompletionBody } from './schemas';

/** The request the engine runs for `body`. */
export function toEngineRequest(body: ChatCompletionBody, signal?: AbortSignal): EngineChatRequest {
  const messages: EngineMessage[] = body.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join(''),
  }));
  const format = body.response_format;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const stop = body.stop === undefined ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  return {
    model: body.model,
    messages,
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(body.temperature === undefined ? {} : { temperature: body.temperature }),
    ...(body.top_p === undefined ? {} : { topP: body.top_p }),
    ...(body.top_k === undefined ? {} : { topK: body.top_k }),
    ...(body.seed === undefined ? {} : { seed: body.seed }),
    ...(stop === undefined ? {} : { stop }),
    ...(body.frequency_penalty === undefined ? {} : { frequencyPenalty: body.frequency_penalty }),
    ...(body.presence_penalty === undefined ? {} : { presencePenalty: body.presence_penalty }),
    ...(body.repeat_penalty === undefined ? {} : { repeatPenalty: body.repeat_penalty }),
    ...(format === undefined || format.type === 'text'
      ? {}
      : { responseFormat: format.type === 'json_object' ? { type: 'json_object' } : { type: 'json_schema', schema: format.json_schema.schema } }),
    ...(signal === undefined ? {} : { signal }),
  };
}

/** A `chat.completion` object. */
export function toChatCompletion(model: string, result: EngineChatResult, nowSeconds: number = Math.floor(Date.now() / 1000)) {
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion' as const,
    created: nowSeconds,
    model,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: result.text, refusal: null },
        logprobs: null,
        finish_reason: result.finishReason,
      },
    ],
    usage: {
      prompt_tokens: result.promptTokens,
      completion_tokens: result.completionTokens,
      total_tokens: result.promptTokens + result.completionTokens,
    },
  };
}

/** A `model` object; adapters name their base in `parent` (as vLLM does). */
export function toModelObject(info: ModelInfo) {
  return {
    id: info.id,
    object: 'model' as const,
    created: info.created,
    owned_by: 'hs',
    root: info.id,
    parent: info.kind === 'adapter' ? (info.base ?? null) : null,
  };
}
