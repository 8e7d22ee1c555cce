/**
 * `ChatEngine` over node-llama-cpp on the CPU. Base models are loaded once; each model name maps to a context
 * key (base + adapter file + scale), and contexts are created lazily, shared by names with equal keys, and
 * evicted least recently used (`ContextPool`). Requests on one context queue first-come first-served for its
 * sequences. One `Llama` with `threads` threads serves everything, so concurrent contexts share the cores.
 */
import type { ChatWrapper, Llama, LlamaContextSequence, LlamaGrammar, LlamaModel } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { checkAdapterFile, releaseAdapter, sha256File } from './adapter-file';
import { ContextPool, type PooledContext } from './context-pool';
import type { ChatEngine, EngineChatRequest, EngineChatResult, LoadAdapterRequest, LoadAdapterResult, ModelInfo } from './engine';
import { LlmError } from './errors';
import { FifoPool } from './fifo-pool';
import { generateChat } from './generate';
import { defaultThreads, getCpuLlama, loadNodeLlamaCpp, type NodeLlamaCppModule } from './node-llama';
import { confinePath } from './paths';
import { type AdapterEntry, contextKey, type ModelEntry, ModelRegistry } from './registry';

/** A base model to load at start: served as `name`. */
export interface BaseModelSpec {
  name: string;
  path: string;
}

export interface LlamaEngineOptions {
  /** Base models, at least one; their paths must lie inside `roots`. */
  models: readonly BaseModelSpec[];
  /** Directories every loaded file must lie in (checked on real paths). */
  roots: readonly string[];
  /** CPU threads for all generation together (default `defaultThreads()`: all cores but one, 1 to 4). */
  threads?: number;
  /** Tokens per sequence: prompt + completion (default 2048). */
  contextSize?: number;
  /**
   * Sequences per context, i.e. requests on one model generated together in one batch (default 1). Measured on
   * 2 cores (bench/llm-server.ts, 4 concurrent clients): 2 sequences gave no more tokens/s than 1, and batched
   * decoding can change greedy answers by float rounding (seen with 4), so by default every answer is
   * independent of what else is running.
   */
  sequencesPerContext?: number;
  /** Contexts kept (default 6); idle ones beyond it are disposed, least recently used first. */
  maxContexts?: number;
  /** Requests queued per context before 503 (default 256). */
  maxQueuePerContext?: number;
  /** Relative paths resolve against this (default: process.cwd()). */
  cwd?: string;
  /** Structured events: model loads, context creation and eviction, adapter loads and unloads. */
  log?: (event: Record<string, unknown>) => void;
}

const MAX_GRAMMARS = 64;

function toModelInfo(entry: ModelEntry): ModelInfo {
  return entry.kind === 'base'
    ? { id: entry.id, kind: 'base', path: entry.path, created: entry.created }
    : { id: entry.id, kind: 'adapter', base: entry.base, path: entry.path, scale: entry.scale, created: entry.created };
}

class LlamaEngine implements ChatEngine {
  private readonly pool: ContextPool<LlamaContextSequence>;
  /** Serialises adapter loads and unloads. */
  private readonly admin = new FifoPool([true]);
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private closed = false;

  constructor(
    private readonly nlc: NodeLlamaCppModule,
    private readonly llama: Llama,
    private readonly bases: ReadonlyMap<string, { model: LlamaModel; chatWrapper: ChatWrapper }>,
    private readonly registry: ModelRegistry,
    private readonly options: Required<Omit<LlamaEngineOptions, 'log'>> & Pick<LlamaEngineOptions, 'log'>,
  ) {
    this.pool = new ContextPool({
      maxContexts: options.maxContexts,
      maxQueuePerContext: options.maxQueuePerContext,
      onDispose: (key) => this.options.log?.({ event: 'context_disposed', key: key.split('\u0000').filter(Boolean).join(' + ') }),
    });
  }

  listModels(): ModelInfo[] {
    return this.registry.list().map(toModelInfo);
  }

  async chat(request: EngineChatRequest): Promise<EngineChatResult> {
    this.ensureOpen();
    const entry = this.registry.require(request.model);
    const { chatWrapper } = this.base(entry.kind === 'base' ? entry.id : entry.base);
    const grammar = await this.grammarFor(request.responseFormat);
    const run = (sequence: LlamaContextSequence): Promise<EngineChatResult> => generateChat(this.nlc, sequence, chatWrapper, request, grammar);
    return await this.pool.run(contextKey(entry), () => this.createContext(entry), run, request.signal);
  }

  loadAdapter(request: LoadAdapterRequest): Promise<LoadAdapterResult> {
    return this.admin.use(async () => {
      this.ensureOpen();
      const base = this.resolveBase(request.base);
      const { model } = this.base(base);
      const file = await confinePath(request.path, this.options.roots, 'lora_path', this.options.cwd);
      await checkAdapterFile(file, model, 'lora_path');
      const sha256 = await sha256File(file);
      const scale = request.scale ?? 1;
      const existing = this.registry.get(request.name);
      if (existing !== undefined) {
        if (existing.kind === 'adapter' && existing.path === file && existing.sha256 === sha256 && existing.base === base && existing.scale === scale) {
          return { model: toModelInfo(existing), alreadyLoaded: true };
        }
        throw new LlmError(409, `the model name "${request.name}" is already in use by another ${existing.kind === 'base' ? 'base model' : 'adapter'}; unload it first or choose another name`, 'model_exists', 'lora_name');
      }
      const stale = this.registry.adaptersWithFile(file).find((a) => a.sha256 !== sha256);
      if (stale !== undefined) {
        throw new LlmError(
          409,
          `${file} changed on disk since it was loaded as "${stale.id}" (the loaded weights are cached by path); unload "${stale.id}" first or write the new adapter to a new path`,
          'adapter_file_changed',
          'lora_path',
        );
      }
      const entry: AdapterEntry = { kind: 'adapter', id: request.name, base, path: file, scale, sha256, created: Math.floor(Date.now() / 1000) };
      try {
        await this.pool.warm(contextKey(entry), () => this.createContext(entry));
      } catch (error) {
        if (error instanceof LlmError) throw error;
        const detail = error instanceof Error ? error.message : String(error);
        throw new LlmError(400, `lora_path: llama.cpp could not apply the adapter to "${base}": ${detail}`, 'invalid_adapter', 'lora_path');
      }
      this.registry.add(entry);
      this.options.log?.({ event: 'adapter_loaded', name: entry.id, base, path: file, scale, sha256 });
      return { model: toModelInfo(entry), alreadyLoaded: false };
    });
  }

  unloadAdapter(name: string): Promise<void> {
    return this.admin.use(async () => {
      const entry = this.registry.get(name);
      if (entry === undefined) throw new LlmError(404, `no LoRA adapter named "${name}" is loaded`, 'adapter_not_found', 'lora_name');
      if (entry.kind === 'base') throw new LlmError(400, `"${name}" is a base model; only LoRA adapters can be unloaded`, 'cannot_unload_base_model', 'lora_name');
      this.registry.remove(name);
      const key = contextKey(entry);
      if (!this.registry.list().some((e) => contextKey(e) === key)) await this.pool.drop(key);
      if (this.registry.adaptersWithFile(entry.path).length === 0) {
        await this.pool.disposed();
        const released = await releaseAdapter(this.base(entry.base).model, entry.path);
        if (!released) this.options.log?.({ event: 'warning', message: `could not free the weights of ${entry.path} (node-llama-cpp internals changed?); they stay in memory until shutdown` });
      }
      this.options.log?.({ event: 'adapter_unloaded', name });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.admin.use(async () => {
      await this.pool.close();
      for (const { model } of this.bases.values()) await model.dispose();
      await this.llama.dispose();
    });
  }

  private ensureOpen(): void {
    if (this.closed) throw new LlmError(503, 'the server is shutting down', 'shutting_down');
  }

  private resolveBase(name: string | undefined): string {
    if (name !== undefined) {
      const entry = this.registry.get(name);
      if (entry?.kind !== 'base') {
        const bases = this.registry.list().filter((e) => e.kind === 'base').map((e) => `"${e.id}"`);
        throw new LlmError(404, `no base model named "${name}"; base models: ${bases.join(', ')}`, 'model_not_found', 'base_model_name');
      }
      return name;
    }
    const sole = this.registry.soleBase();
    if (sole === undefined) throw new LlmError(400, 'several base models are loaded: say which one with base_model_name', 'base_model_required', 'base_model_name');
    return sole.id;
  }

  private base(name: string): { model: LlamaModel; chatWrapper: ChatWrapper } {
    const base = this.bases.get(name);
    if (base === undefined) throw new Error(`base model "${name}" is registered but not loaded`);
    return base;
  }

  private async createContext(entry: ModelEntry): Promise<PooledContext<LlamaContextSequence>> {
    const { model } = this.base(entry.kind === 'base' ? entry.id : entry.base);
    const started = Date.now();
    const context = await model.createContext({
      contextSize: this.options.contextSize,
      sequences: this.options.sequencesPerContext,
      threads: this.options.threads,
      failedCreationRemedy: false,
      ...(entry.kind === 'adapter' ? { lora: { adapters: [{ filePath: entry.path, scale: entry.scale }] } } : {}),
    });
    const sequences = Array.from({ length: this.options.sequencesPerContext }, () => context.getSequence());
    this.options.log?.({ event: 'context_created', model: entry.id, ms: Date.now() - started, contexts: this.pool.size });
    return { sequences, dispose: () => context.dispose() };
  }

  /** The grammar for `response_format` (cached by schema); 400 `invalid_response_format` if it cannot be built. */
  private async grammarFor(format: EngineChatRequest['responseFormat']): Promise<LlamaGrammar | undefined> {
    if (format === undefined) return undefined;
    const key = format.type === 'json_object' ? 'json' : JSON.stringify(format.schema);
    let grammar = this.grammars.get(key);
    if (grammar === undefined) {
      if (this.grammars.size >= MAX_GRAMMARS) this.grammars.clear();
      grammar =
        format.type === 'json_object'
          ? this.llama.getGrammarFor('json')
          : this.llama.createGrammarForJsonSchema(format.schema as Parameters<Llama['createGrammarForJsonSchema']>[0]);
      this.grammars.set(key, grammar);
      grammar.catch(() => this.grammars.delete(key));
    }
    try {
      return await grammar;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new LlmError(400, `response_format: the JSON schema cannot be turned into a grammar: ${detail}`, 'invalid_response_format', 'response_format');
    }
  }
}

/**
 * Loads the base models (paths confined to `roots`) and returns the engine. Throws `LlmError` for a bad path and
 * the loader's error for an unreadable model.
 */
export async function createLlamaEngine(options: LlamaEngineOptions): Promise<ChatEngine> {
  if (options.models.length === 0) throw new Error('createLlamaEngine needs at least one base model');
  const resolved = {
    models: options.models,
    roots: options.roots,
    threads: options.threads ?? defaultThreads(),
    contextSize: options.contextSize ?? 2048,
    sequencesPerContext: options.sequencesPerContext ?? 1,
    maxContexts: options.maxContexts ?? 6,
    maxQueuePerContext: options.maxQueuePerContext ?? 256,
    cwd: options.cwd ?? process.cwd(),
    log: options.log,
  };
  const registry = new ModelRegistry();
  const files: { name: string; file: string }[] = [];
  for (const spec of options.models) {
    const file = await confinePath(spec.path, resolved.roots, `model "${spec.name}"`, resolved.cwd);
    registry.add({ kind: 'base', id: spec.name, path: file, created: Math.floor(Date.now() / 1000) });
    files.push({ name: spec.name, file });
  }
  const nlc = await loadNodeLlamaCpp();
  const llama = await getCpuLlama(resolved.threads);
  const bases = new Map<string, { model: LlamaModel; chatWrapper: ChatWrapper }>();
  try {
    for (const { name, file } of files) {
      const started = Date.now();
      const model = await llama.loadModel({ modelPath: file });
      const chatWrapper = nlc.resolveChatWrapper(model);
      bases.set(name, { model, chatWrapper });
      resolved.log?.({ event: 'model_loaded', name, path: file, chatWrapper: chatWrapper.wrapperName, ms: Date.now() - started });
    }
  } catch (error) {
    for (const { model } of bases.values()) await model.dispose();
    await llama.dispose();
    throw error;
  }
  return new LlamaEngine(nlc, llama, bases, registry, resolved);
}
