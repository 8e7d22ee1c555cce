/**
 * Contexts created lazily per key (one per base + adapter + scale: node-llama-cpp applies LoRA adapters when a
 * context is created), each with a few sequences leased first-come first-served, and evicted least recently
 * used — only when idle — once there are more than `maxContexts`. Generic over the context type so the
 * policy is testable without a model.
 */
import { FifoPool } from './fifo-pool';

/** A created context and its sequences. */
export interface PooledContext<S> {
  sequences: readonly S[];
  dispose(): Promise<void>;
}

interface Slot<S> {
  key: string;
  ready: Promise<{ pool: FifoPool<S>; context: PooledContext<S> }>;
  /** Callers between lookup and lease: a slot with refs is never evicted. */
  refs: number;
  lastUsed: number;
}

export interface ContextPoolOptions {
  /** Contexts kept at most (idle ones beyond this are disposed, least recently used first). */
  maxContexts: number;
  /** Requests that may queue per context before new ones get 503. */
  maxQueuePerContext: number;
  /** Called when a context is evicted or dropped (for logs). */
  onDispose?: (key: string) => void;
}

export class ContextPool<S> {
  private readonly slots = new Map<string, Slot<S>>();
  private readonly disposing = new Set<Promise<void>>();
  private clock = 0;

  constructor(private readonly options: ContextPoolOptions) {}

  /** Contexts alive or being created. */
  get size(): number {
    return this.slots.size;
  }

  /** Ensures the context for `key` exists (created with `create` if needed), e.g. to fail fast on a bad adapter. */
  async warm(key: string, create: () => Promise<PooledContext<S>>): Promise<void> {
    const slot = this.slotFor(key, create);
    try {
      await slot.ready;
    } finally {
      slot.refs--;
      this.evict();
    }
  }

  /** Runs `fn` on a leased sequence of `key`'s context, creating the context with `create` if needed. */
  async run<R>(key: string, create: () => Promise<PooledContext<S>>, fn: (sequence: S) => Promise<R>, signal?: AbortSignal): Promise<R> {
    const slot = this.slotFor(key, create);
    try {
      const { pool } = await slot.ready;
      return await pool.use(fn, signal);
    } finally {
      slot.refs--;
      slot.lastUsed = ++this.clock;
      this.evict();
    }
  }

  /** Forgets `key`'s context and disposes it once its in-flight work is done. */
  async drop(key: string): Promise<void> {
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    this.slots.delete(key);
    await this.retire(slot);
  }

  /** Resolves when every context dropped or evicted so far is disposed. */
  async disposed(): Promise<void> {
    await Promise.all([...this.disposing]);
  }

  /** Drops every context and waits until all are disposed. */
  async close(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((key) => this.drop(key)));
    await this.disposed();
  }

  private slotFor(key: string, create: () => Promise<PooledContext<S>>): Slot<S> {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      const created: Slot<S> = {
        key,
        refs: 0,
        lastUsed: ++this.clock,
        ready: create().then((context) => ({ context, pool: new FifoPool(context.sequences, this.options.maxQueuePerContext) })),
      };
      // A failed creation is forgotten so that the next request tries again.
      created.ready.catch(() => {
        if (this.slots.get(key) === created) this.slots.delete(key);
      });
      this.slots.set(key, created);
      slot = created;
    }
    slot.refs++;
    slot.lastUsed = ++this.clock;
    return slot;
  }

  /** Disposes idle contexts, least recently used first, while there are too many. */
  private evict(): void {
    if (this.slots.size <= this.options.maxContexts) return;
    const candidates = [...this.slots.values()].filter((s) => s.refs === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const slot of candidates) {
      if (this.slots.size <= this.options.maxContexts) break;
      this.slots.delete(slot.key);
      void this.retire(slot);
    }
  }

  /** Disposes `slot` once idle, tracked in `disposing`. Never rejects. */
  private retire(slot: Slot<S>): Promise<void> {
    const done = this.disposeWhenIdle(slot).finally(() => this.disposing.delete(done));
    this.disposing.add(done);
    return done;
  }

  /** Never rejects. */
  private async disposeWhenIdle(slot: Slot<S>): Promise<void> {
    let ready: Awaited<Slot<S>['ready']>;
    try {
      ready = await slot.ready;
    } catch {
      return; // never created
    }
    await ready.pool.whenIdle();
    this.options.onDispose?.(slot.key);
    try {
      await ready.context.dispose();
    } catch {
      // a context that fails to dispose is gone for us either way
    }
  }
}
