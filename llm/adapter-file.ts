/**
 * LoRA adapter files: checked before llama.cpp sees them (a GGUF whose `general.type` is `adapter`,
 * `adapter.type` is `lora` and whose architecture is the base's), fingerprinted, and released from the base
 * model's memory when no name uses them any more.
 */
import type { LlamaModel } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { LlmError } from './errors';
import { type GgufInfo, type GgufMetadata, readGgufInfo } from './gguf';

export { sha256File } from '../activities/fs-store';

function field(record: unknown, ...keys: string[]): unknown {
  let value: unknown = record;
  for (const key of keys) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The value of a string metadata key, or undefined. */
function text(metadata: GgufMetadata, key: string): string | undefined {
  const value = metadata.get(key);
  return value?.type === 'string' ? value.value : undefined;
}

/**
 * Throws 400 `invalid_adapter` unless `file` is a well-formed LoRA adapter GGUF for `base`'s architecture whose
 * tensors all lie inside the file. Parsed by our own strict reader (`gguf.ts`): fast on junk and truncated files,
 * where node-llama-cpp's reader waits for bytes that never come.
 */
export async function checkAdapterFile(file: string, base: LlamaModel, param: string): Promise<void> {
  const invalid = (why: string): LlmError => new LlmError(400, `${param}: ${why}`, 'invalid_adapter', param);
  let info: GgufInfo;
  try {
    info = await readGgufInfo(file);
  } catch (error) {
    throw invalid(`not a readable GGUF file (${error instanceof Error ? error.message : String(error)})`);
  }
  const type = text(info.metadata, 'general.type');
  const adapterType = text(info.metadata, 'adapter.type');
  if (type !== 'adapter' || adapterType !== 'lora') {
    throw invalid(`the GGUF file is not a LoRA adapter (general.type=${String(type)}, adapter.type=${String(adapterType)})`);
  }
  const architecture = text(info.metadata, 'general.architecture');
  const baseArchitecture = field(base.fileInfo.metadata, 'general', 'architecture');
  if (architecture !== baseArchitecture) throw invalid(`the adapter is for architecture "${String(architecture)}", the base model is "${String(baseArchitecture)}"`);
  if (info.tensors.length === 0) throw invalid('the adapter has no tensors');
  for (const tensor of info.tensors) {
    if (!/\.lora_[ab]$/.test(tensor.name)) throw invalid(`unexpected tensor "${tensor.name}" (LoRA tensors end in .lora_a or .lora_b)`);
    if (tensor.byteSize === undefined || info.dataOffset + tensor.offset + tensor.byteSize > info.fileSize) {
      throw invalid(`tensor "${tensor.name}" has an unknown type or lies beyond the end of the file (truncated?)`);
    }
  }
}

interface DisposableLora {
  dispose(): Promise<void>;
}

/**
 * Frees an adapter's weights from `model`. node-llama-cpp keeps every adapter it ever loaded until the model is
 * disposed, keyed by path (undocumented: `LlamaModel._loraAdapters`); without this, a long weight search would
 * accumulate every adapter it tried. Call only when no context uses the adapter any more. Does nothing if the
 * internals are not what this expects.
 */
export async function releaseAdapter(model: LlamaModel, file: string): Promise<boolean> {
  const cache = (model as unknown as { _loraAdapters?: unknown })._loraAdapters;
  if (!(cache instanceof Map)) return false;
  const lora: unknown = cache.get(file);
  if (typeof lora !== 'object' || lora === null || typeof (lora as Partial<DisposableLora>).dispose !== 'function') return false;
  cache.delete(file);
  await (lora as DisposableLora).dispose();
  return true;
}
