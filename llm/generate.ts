/**
 * One chat completion on a leased context sequence: the sequence is cleared first (no state leaks between
 * requests, and a request's output does not depend on what ran before), the messages go through the model's
 * chat template, and the usage is counted by the sequence's token meter.
 */
import type { ChatHistoryItem, ChatWrapper, LlamaContextSequence, LlamaGrammar, LLamaContextualRepeatPenalty, LLamaChatGenerateResponseOptions } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { EngineChatRequest, EngineChatResult, EngineMessage } from './engine';
import { LlmError, RequestAbortedError } from './errors';
import type { NodeLlamaCppModule } from './node-llama';

/** OpenAI messages → node-llama-cpp chat history, ending with the empty model turn to generate. */
export function toChatHistory(messages: readonly EngineMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m): ChatHistoryItem => {
    if (m.role === 'system') return { type: 'system', text: m.content };
    if (m.role === 'user') return { type: 'user', text: m.content };
    return { type: 'model', response: [m.content] };
  });
  history.push({ type: 'model', response: [] });
  return history;
}

/** OpenAI penalties → node-llama-cpp's repeat penalty (`false` = off, OpenAI's default). */
function repeatPenalty(request: EngineChatRequest): false | LLamaContextualRepeatPenalty {
  const frequencyPenalty = request.frequencyPenalty ?? 0;
  const presencePenalty = request.presencePenalty ?? 0;
  const penalty = request.repeatPenalty ?? 1;
  if (frequencyPenalty === 0 && presencePenalty === 0 && penalty === 1) return false;
  return { penalty, frequencyPenalty, presencePenalty, lastTokens: 64 };
}

/** How many tokens the prompt takes once rendered by the chat template. */
function countPromptTokens(sequence: LlamaContextSequence, chatWrapper: ChatWrapper, history: ChatHistoryItem[]): number {
  const { contextText } = chatWrapper.generateContextState({ chatHistory: history });
  return contextText.tokenize(sequence.model.tokenizer).length;
}

/** The completion budget: `max_tokens`, or all the room left; 400 `context_length_exceeded` if it does not fit. */
function completionBudget(contextSize: number, promptTokens: number, maxTokens: number | undefined): number {
  const room = contextSize - promptTokens;
  if (room >= 1 && (maxTokens === undefined || maxTokens <= room)) return maxTokens ?? room;
  const asked = maxTokens === undefined ? '' : ` + ${maxTokens} in the completion`;
  throw new LlmError(
    400,
    `This model's maximum context length is ${contextSize} tokens; the messages take ${promptTokens}${asked}. Shorten the messages or lower max_tokens.`,
    'context_length_exceeded',
    maxTokens === undefined ? 'messages' : 'max_tokens',
  );
}

/** The request's sampling options in node-llama-cpp's terms. */
function generationOptions(request: EngineChatRequest, maxTokens: number, grammar: LlamaGrammar | undefined): LLamaChatGenerateResponseOptions {
  return {
    maxTokens,
    temperature: request.temperature ?? 0,
    repeatPenalty: repeatPenalty(request),
    ...(request.topP === undefined ? {} : { topP: request.topP }),
    ...(request.topK === undefined ? {} : { topK: request.topK }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(request.stop === undefined || request.stop.length === 0 ? {} : { customStopTriggers: request.stop }),
    ...(grammar === undefined ? {} : { grammar }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  };
}

/**
 * Generates one answer. `chatWrapper` is the base model's (resolve it once: resolving it per request costs more
 * than generating a short answer); `grammar` (from `response_format`) is prepared by the caller. Throws 400
 * `context_length_exceeded` when prompt + max_tokens do not fit, `RequestAbortedError` when `signal` aborts.
 */
export async function generateChat(
  nlc: NodeLlamaCppModule,
  sequence: LlamaContextSequence,
  chatWrapper: ChatWrapper,
  request: EngineChatRequest,
  grammar?: LlamaGrammar,
): Promise<EngineChatResult> {
  const history = toChatHistory(request.messages);
  const maxTokens = completionBudget(sequence.contextSize, countPromptTokens(sequence, chatWrapper, history), request.maxTokens);
  await sequence.clearHistory();
  const chat = new nlc.LlamaChat({ contextSequence: sequence, chatWrapper });
  try {
    const before = sequence.tokenMeter.getState();
    const response = await chat.generateResponse(history, generationOptions(request, maxTokens, grammar)).catch((error: unknown) => {
      throw request.signal?.aborted === true ? new RequestAbortedError() : error;
    });
    const stop = response.metadata.stopReason;
    if (stop === 'abort') throw new RequestAbortedError();
    const used = sequence.tokenMeter.diff(before);
    return {
      text: response.response,
      promptTokens: used.usedInputTokens,
      completionTokens: used.usedOutputTokens,
      finishReason: stop === 'maxTokens' ? 'length' : 'stop',
    };
  } finally {
    chat.dispose();
  }
}
