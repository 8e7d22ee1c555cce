/**
 * In-process single flight: concurrent calls with the same key share one execution, so two identical model
 * calls in flight at once (e.g. the same source-node prompt in two particles' graphs) are paid once.
 *
 * Cancellation is per caller: a caller whose signal aborts stops waiting at once (rejecting with the signal's
 * reason), and the shared execution is aborted only when every caller has aborted.
 */

/** Shares concurrent executions by key. */
export interface SingleFlight<T> {
  /**
   * Runs `fn` for `key` unless an execution for `key` is in flight, in which case it joins that one.
   * `shared` tells whether this caller joined an execution started by another caller.
   */
  run(key: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; shared: boolean }>;
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  callers: number;
}

/** A new single-flight group. */
export function createSingleFlight<T>(): SingleFlight<T> {
  const flights = new Map<string, Flight<T>>();

  return {
    async run(key, signal, fn) {
      signal?.throwIfAborted();
      let flight = flights.get(key);
      const shared = flight !== undefined;
      if (flight === undefined) {
        const controller = new AbortController();
        const created: Flight<T> = { promise: Promise.resolve().then(() => fn(controller.signal)), controller, callers: 0 };
        flight = created;
        flights.set(key, created);
        const forget = (): void => {
          if (flights.get(key) === created) flights.delete(key);
        };
        created.promise.then(forget, forget);
      }
      const current = flight;
      current.callers++;
      let onAbort: (() => void) | undefined;
      const aborted =
        signal === undefined
          ? undefined
          : new Promise<never>((_, reject) => {
              onAbort = () => {
                if (--current.callers === 0) {
                  if (flights.get(key) === current) flights.delete(key);
                  current.controller.abort(signal.reason);
                }
                reject(signal.reason as Error);
              };
              signal.addEventListener('abort', onAbort, { once: true });
            });
      try {
        const value = await (aborted === undefined ? current.promise : Promise.race([current.promise, aborted]));
        return { value, shared };
      } finally {
        if (signal !== undefined && onAbort !== undefined) {
          if (!signal.aborted) current.callers--;
          signal.removeEventListener('abort', onAbort);
        }
      }
    },
  };
}
