/**
 * GGUF files as tensor files (F32 tensors only, which is what llama.cpp LoRA adapters written by us and by
 * `convert_lora_to_gguf.py --outtype f32` hold). The layout's metadata is the GGUF key/value map, carried
 * over verbatim, so an adapter written "like" another keeps its architecture, alpha and type.
 */
import { createGgufWriter, GGML_TYPE_F32, GgufError, readGgufInfo, readTensorF32, type GgufMetadata } from '../llm/gguf';
import type { TensorFileFormat, TensorLayout, TensorSource } from './tensor-file';

export const ggufFormat: TensorFileFormat = {
  name: 'gguf',
  async open(file): Promise<TensorSource> {
    const info = await readGgufInfo(file);
    const byName = new Map(info.tensors.map((t) => [t.name, t]));
    for (const t of info.tensors) {
      if (t.type !== GGML_TYPE_F32) throw new GgufError(`${file}: tensor "${t.name}" is ${t.typeName}; the weight step handles F32 GGUF adapters only`);
    }
    const layout: TensorLayout = {
      tensors: info.tensors.map((t) => ({ name: t.name, dtype: 'F32', shape: t.dims })),
      metadata: info.metadata,
    };
    return {
      layout,
      read: async (name, out) => {
        const t = byName.get(name);
        if (t === undefined) throw new GgufError(`${file}: no tensor "${name}"`);
        return readTensorF32(file, info, t, out);
      },
      close: () => Promise.resolve(),
    };
  },
  async create(file, layout) {
    if (!(layout.metadata instanceof Map)) throw new GgufError('a GGUF layout carries its metadata as a Map');
    for (const t of layout.tensors) {
      if (t.dtype !== 'F32') throw new GgufError(`tensor "${t.name}" is ${t.dtype}; GGUF adapters are written as F32`);
    }
    const writer = await createGgufWriter(file, layout.metadata as GgufMetadata, layout.tensors.map((t) => ({ name: t.name, dims: t.shape })));
    return { write: (values) => writer.write(values), commit: () => writer.commit(), abort: () => writer.abort() };
  },
};
