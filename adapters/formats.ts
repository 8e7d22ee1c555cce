/** The tensor file format of a model's adapter weights: the GGUF file itself, or a PEFT adapter's safetensors. */
import type { ModelSpec } from '../workflows/core/config';
import { ggufFormat } from './gguf-tensors';
import { safetensorsFormat } from './safetensors';
import type { TensorFileFormat } from './tensor-file';

export type AdapterFormatName = NonNullable<ModelSpec['adapter']>['format'];

export function weightsFormat(format: AdapterFormatName): TensorFileFormat {
  return format === 'gguf' ? ggufFormat : safetensorsFormat;
}

/** File suffix of a weights blob of this format (scratch files, published versions). */
export function weightsSuffix(format: AdapterFormatName): string {
  return format === 'gguf' ? '.gguf' : '.safetensors';
}
