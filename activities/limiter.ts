/**
 * Keyed concurrency limiter: at most `limit` tasks run at once per key (one key per endpoint), the rest wait
 * in FIFO order. One limiter is shared by every activity of a worker process, so the bound holds across
 * concurrent evaluations.
 */

/** Runs tasks with a per-key concurrency bound. */
export interface KeyedLimiter {
  /**
   * Runs `fn` once fewer than `limit` tasks of `key` are running; waiting tasks start in FIFO order. The limit
   * may differ between calls: the latest one applies from then on.
   */
  run<T>(key: string, limit: number, fn: () => Promise<T>): Promise<T>;
  /** Tasks of `key` running now (for tests and metrics). */
  active(key: string): number;
}

interface Lane {
  limit: number;
  running: number;
  waiting: (() => void)[];
}

/** A new, empty keyed limiter. */
export function createKeyedLimiter(): KeyedLimiter {
  const lanes = new Map<string, Lane>();

  const release = (key: string, lane: Lane): void => {
    lane.running--;
    while (lane.running < lane.limit && lane.waiting.length > 0) {
      lane.running++;
      lane.waiting.shift()!();
    }
    if (lane.running === 0 && lane.waiting.length === 0) lanes.delete(key);
  };

  return {
    async run<T>(key: string, limit: number, fn: () => Promise<T>): Promise<T> {
      if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
      let lane = lanes.get(key);
      if (lane === undefined) {
        lane = { limit, running: 0, waiting: [] };
        lanes.set(key, lane);
      }
      lane.limit = limit;
      if (lane.running < lane.limit && lane.waiting.length === 0) {
        lane.running++;
      } else {
        await new Promise<void>((resolve) => lane.waiting.push(resolve));
      }
      try {
        return await fn();
      } finally {
        release(key, lane);
      }
    },
    active(key) {
      return lanes.get(key)?.running ?? 0;
    },
  };
}
