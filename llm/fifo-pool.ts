/**
 * A pool of interchangeable resources (context sequences, or one token as a mutex) leased first-come
 * first-served. Waiters can give up through an `AbortSignal`; the wait queue can be bounded.
 */
import { LlmError, RequestAbortedError } from './errors';

interface Waiter<T> {
  resolve(item: T): void;
  reject(error: unknown): void;
}

export class FifoPool<T> {
  private readonly free: T[];
  private readonly waiters: Waiter<T>[] = [];
  private leased = 0;
  private idleWaiters: (() => void)[] = [];

  /** `maxWaiting`: how many acquirers may queue before `acquire` fails with 503 `server_overloaded`. */
  constructor(items: readonly T[], private readonly maxWaiting: number = Number.POSITIVE_INFINITY) {
    if (items.length === 0) throw new Error('FifoPool needs at least one item');
    this.free = [...items];
  }

  /** Leases currently out. */
  get busy(): number {
    return this.leased;
  }

  /** Acquirers queued. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Nothing leased and nobody waiting. */
  get idle(): boolean {
    return this.leased === 0 && this.waiters.length === 0;
  }

  /** Resolves with a free item, in arrival order; rejects with `RequestAbortedError` if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(new RequestAbortedError());
    const item = this.free.shift();
    if (item !== undefined) {
      this.leased++;
      return Promise.resolve(item);
    }
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(new LlmError(503, `server overloaded: ${this.waiters.length} requests already queued for this model; retry later`, 'server_overloaded'));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        this.notifyIfIdle();
        reject(new RequestAbortedError());
      };
      const waiter: Waiter<T> = {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Returns a leased item: the longest waiter gets it, else it becomes free. */
  release(item: T): void {
    const next = this.waiters.shift();
    if (next !== undefined) {
      next.resolve(item);
      return;
    }
    this.leased--;
    this.free.push(item);
    this.notifyIfIdle();
  }

  /** Runs `fn` with a leased item and always returns it. */
  async use<R>(fn: (item: T) => Promise<R>, signal?: AbortSignal): Promise<R> {
    const item = await this.acquire(signal);
    try {
      return await fn(item);
    } finally {
      this.release(item);
    }
  }

  /** Resolves once the pool is idle (immediately if it is). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Fails every queued acquirer with `error` (used when the resource goes away). */
  rejectWaiters(error: unknown): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (!this.idle) return;
    const waiting = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiting) resolve();
  }
}
