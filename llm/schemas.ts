/**
 * zod schemas of the HTTP bodies the server accepts: OpenAI's chat completions (the subset a local model can
 * honour; unknown fields are ignored, known-but-unsupported ones are refused) and vLLM's LoRA adapter
 * loading API, plus the conversion of a validation failure into one clear 400.
 */
import { z } from 'zod';
import { LlmError } from './errors';
import { MODEL_NAME_PATTERN } from './registry';

const TextPart = z.object({ type: z.literal('text'), text: z.string() }, { error: 'only text content parts ({"type":"text","text":…}) are supported' });

const Message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'role must be one of system, developer, user, assistant (tool messages are not supported)' }),
  content: z.union([z.string(), z.array(TextPart)], { error: 'content must be a string or an array of text parts' }),
});

const nullish = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

const Penalty = z
  .number()
  .min(0, { error: 'negative penalties are not supported by this server' })
  .max(2);

const ResponseFormat = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().nullish() }),
    }),
  ],
  { error: 'response_format.type must be text, json_object or json_schema' },
);

/** POST /v1/chat/completions. */
export const ChatCompletionBody = z
  .object({
    model: z.string({ error: 'model is required' }).min(1, { error: 'model must not be empty' }),
    messages: z.array(Message, { error: 'messages must be an array of chat messages' }).min(1, { error: 'messages must not be empty' }),
    max_tokens: nullish(z.number().int().min(1)),
    max_completion_tokens: nullish(z.number().int().min(1)),
    temperature: nullish(z.number().min(0).max(2)),
    top_p: nullish(z.number().gt(0).max(1)),
    top_k: nullish(z.number().int().min(0)),
    seed: nullish(z.number().int()),
    stop: nullish(
      z.union([z.string().min(1), z.array(z.string().min(1)).max(16)], { error: 'stop must be a non-empty string or an array of at most 16 non-empty strings' }),
    ),
    frequency_penalty: nullish(Penalty),
    presence_penalty: nullish(Penalty),
    repeat_penalty: nullish(z.number().gt(0).max(10)),
    n: nullish(z.literal(1, { error: 'only n=1 is supported' })),
    stream: nullish(z.literal(false, { error: 'streaming is not supported by this server; send stream=false' })),
    logprobs: nullish(z.literal(false, { error: 'logprobs are not supported by this server' })),
    response_format: nullish(ResponseFormat),
    tools: nullish(z.array(z.unknown()).max(0, { error: 'tools are not supported by this server' })),
  })
  .refine((b) => b.max_tokens === undefined || b.max_completion_tokens === undefined || b.max_tokens === b.max_completion_tokens, {
    error: 'max_tokens and max_completion_tokens disagree; send one of them',
    path: ['max_completion_tokens'],
  });
export type ChatCompletionBody = z.infer<typeof ChatCompletionBody>;

const ModelName = z
  .string({ error: 'a model name is required' })
  .regex(MODEL_NAME_PATTERN, { error: 'use letters, digits and ._:/@+- (at most 128 characters, starting with a letter or digit)' });

/** POST /v1/load_lora_adapter (vLLM's body, plus `base_model_name` and `scale`). */
export const LoadLoraBody = z.object({
  lora_name: ModelName,
  lora_path: z.string({ error: 'lora_path is required' }).min(1),
  base_model_name: nullish(z.string().min(1)),
  scale: nullish(z.number().min(-100).max(100)),
});
export type LoadLoraBody = z.infer<typeof LoadLoraBody>;

/** POST /v1/unload_lora_adapter. */
export const UnloadLoraBody = z.object({ lora_name: z.string({ error: 'lora_name is required' }).min(1) });
export type UnloadLoraBody = z.infer<typeof UnloadLoraBody>;

/** Validates `body`; on failure a 400 naming every bad field, `param` = the first one. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const where = (path: readonly PropertyKey[]): string => (path.length === 0 ? 'body' : path.map(String).join('.'));
  const message = issues.map((i) => `${where(i.path)}: ${i.message}`).join('; ');
  const first = issues[0];
  throw new LlmError(400, `invalid request: ${message}`, 'invalid_request', first === undefined || first.path.length === 0 ? null : where(first.path));
}
