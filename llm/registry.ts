/**
 * The model names an engine serves: base models (a GGUF file each) and LoRA adapters (an adapter file and a
 * scale on top of one base). Pure bookkeeping; loading is the engine's job.
 */
import { LlmError, modelNotFound } from './errors';

/** Model names: what OpenAI, vLLM and Ollama use (letters, digits, `._:/@+-`), at most 128 characters. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/;

export interface BaseEntry {
  kind: 'base';
  id: string;
  path: string;
  created: number;
}

export interface AdapterEntry {
  kind: 'adapter';
  id: string;
  base: string;
  path: string;
  scale: number;
  /** sha256 of the file when it was loaded: node-llama-cpp caches adapters by path, so content changes matter. */
  sha256: string;
  created: number;
}

export type ModelEntry = BaseEntry | AdapterEntry;

/** What a context is made of: equal keys share a context. */
export function contextKey(entry: ModelEntry): string {
  return entry.kind === 'base' ? `${entry.id}\u0000` : `${entry.base}\u0000${entry.path}\u0000${entry.scale}`;
}

export class ModelRegistry {
  private readonly entries = new Map<string, ModelEntry>();

  /** The entry for `name`, or `undefined`. */
  get(name: string): ModelEntry | undefined {
    return this.entries.get(name);
  }

  /** The entry for `name`; 404 `model_not_found` listing the served names otherwise. */
  require(name: string): ModelEntry {
    const entry = this.entries.get(name);
    if (entry === undefined) throw modelNotFound(name, this.names());
    return entry;
  }

  /** The single base when there is exactly one, for adapters that do not name theirs. */
  soleBase(): BaseEntry | undefined {
    const bases = this.list().filter((e): e is BaseEntry => e.kind === 'base');
    return bases.length === 1 ? bases[0] : undefined;
  }

  /** Adds an entry; the name must be free and well-formed. */
  add(entry: ModelEntry): void {
    if (!MODEL_NAME_PATTERN.test(entry.id)) {
      throw new LlmError(400, `invalid model name "${entry.id}": use letters, digits and ._:/@+- (at most 128, starting with a letter or digit)`, 'invalid_model_name');
    }
    if (this.entries.has(entry.id)) throw new LlmError(409, `the model name "${entry.id}" is already in use`, 'model_exists');
    this.entries.set(entry.id, entry);
  }

  remove(name: string): void {
    this.entries.delete(name);
  }

  /** Every entry, bases first, each kind in insertion order. */
  list(): ModelEntry[] {
    const all = [...this.entries.values()];
    return [...all.filter((e) => e.kind === 'base'), ...all.filter((e) => e.kind === 'adapter')];
  }

  names(): string[] {
    return this.list().map((e) => e.id);
  }

  /** Adapters whose file is `path`. */
  adaptersWithFile(path: string): AdapterEntry[] {
    return this.list().filter((e): e is AdapterEntry => e.kind === 'adapter' && e.path === path);
  }
}
