import assert from 'node:assert/strict';
import { LlmError, RequestAbortedError } from '../../llm/errors';
import { FifoPool } from '../../llm/fifo-pool';

describe('llm/FifoPool', () => {
  it('leases free items, then serves waiters first-come first-served', async () => {
    const pool = new FifoPool(['a']);
    const first = await pool.acquire();
    const order: string[] = [];
    const second = pool.acquire().then((item) => order.push(`2:${item}`));
    const third = pool.acquire().then((item) => order.push(`3:${item}`));
    assert.equal(pool.waiting, 2);
    pool.release(first);
    await second;
    pool.release('a');
    await third;
    assert.deepEqual(order, ['2:a', '3:a']);
    pool.release('a');
    assert.equal(pool.idle, true);
  });

  it('drops a waiter whose signal aborts, and rejects with RequestAbortedError', async () => {
    const pool = new FifoPool([1]);
    const held = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort();
    await assert.rejects(waiting, RequestAbortedError);
    assert.equal(pool.waiting, 0);
    pool.release(held);
    assert.equal(await pool.acquire(), 1);
  });

  it('refuses with 503 once the queue is full', async () => {
    const pool = new FifoPool([1], 1);
    await pool.acquire();
    const queued = pool.acquire();
    await assert.rejects(pool.acquire(), (e: unknown) => e instanceof LlmError && e.status === 503 && e.code === 'server_overloaded');
    pool.release(1);
    assert.equal(await queued, 1);
  });

  it('use() releases on failure and whenIdle() waits for the last lease', async () => {
    const pool = new FifoPool([1]);
    await assert.rejects(pool.use(() => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(pool.idle, true);
    let release!: () => void;
    const running = pool.use(() => new Promise<void>((r) => (release = r)));
    let idle = false;
    const whenIdle = pool.whenIdle().then(() => (idle = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(idle, false);
    release();
    await running;
    await whenIdle;
    assert.equal(idle, true);
  });
});
