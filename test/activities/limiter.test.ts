import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyedLimiter } from '../../activities/limiter';
import { createSingleFlight } from '../../activities/single-flight';

describe('keyed limiter', () => {
  it('bounds concurrency per key, FIFO, keys independent', async () => {
    const limiter = createKeyedLimiter();
    let running = 0;
    let max = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      running++;
      max = Math.max(max, running);
      await sleep(10);
      running--;
      return i;
    };
    const other = limiter.run('b', 1, () => Promise.resolve('b'));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => limiter.run('a', 3, task(i))));
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7], 'FIFO');
    assert.equal(max, 3);
    assert.equal(await other, 'b');
    assert.equal(limiter.active('a'), 0);
  });

  it('uses the latest limit', async () => {
    const limiter = createKeyedLimiter();
    let running = 0;
    let max = 0;
    const task = async () => {
      running++;
      max = Math.max(max, running);
      await sleep(10);
      running--;
    };
    const first = Array.from({ length: 4 }, () => limiter.run('k', 1, task));
    const later = Array.from({ length: 4 }, () => limiter.run('k', 4, task));
    await Promise.all([...first, ...later]);
    assert.ok(max > 1 && max <= 4, `max ${max}`);
  });

  it('releases the slot when a task fails', async () => {
    const limiter = createKeyedLimiter();
    await assert.rejects(limiter.run('k', 1, () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await limiter.run('k', 1, () => Promise.resolve(7)), 7);
  });
});

describe('single flight', () => {
  it('concurrent calls with one key run once; later calls run again', async () => {
    const flights = createSingleFlight<number>();
    let runs = 0;
    const fn = async () => {
      runs++;
      await sleep(10);
      return 42;
    };
    const [a, b, c] = await Promise.all([flights.run('k', undefined, fn), flights.run('k', undefined, fn), flights.run('other', undefined, fn)]);
    assert.deepEqual([a, b, c], [{ value: 42, shared: false }, { value: 42, shared: true }, { value: 42, shared: false }]);
    assert.equal(runs, 2);
    await flights.run('k', undefined, fn);
    assert.equal(runs, 3);
  });

  it('an aborted caller stops waiting; the execution is aborted only when all callers abort', async () => {
    const flights = createSingleFlight<string>();
    let inner: AbortSignal | undefined;
    const fn = (signal: AbortSignal) => {
      inner = signal;
      return new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => resolve('done'), 100);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new Error('inner aborted'));
        });
      });
    };
    const c1 = new AbortController();
    const c2 = new AbortController();
    const p1 = flights.run('k', c1.signal, fn);
    const p2 = flights.run('k', c2.signal, fn);
    c1.abort(new Error('caller 1 cancelled'));
    await assert.rejects(p1, /caller 1 cancelled/);
    assert.equal(inner?.aborted, false);
    assert.deepEqual(await p2, { value: 'done', shared: true });

    const c3 = new AbortController();
    const p3 = flights.run('k2', c3.signal, fn);
    c3.abort(new Error('caller 3 cancelled'));
    await assert.rejects(p3, /caller 3 cancelled/);
    assert.equal(inner?.aborted, true);
  });
});
