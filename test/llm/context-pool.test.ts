import assert from 'node:assert/strict';
import { ContextPool, type PooledContext } from '../../llm/context-pool';

/** A fake context factory that records creations and disposals. */
function factory(log: string[]) {
  return (key: string, sequences = 1) =>
    (): Promise<PooledContext<string>> => {
      log.push(`create ${key}`);
      return Promise.resolve({
        sequences: Array.from({ length: sequences }, (_, i) => `${key}#${i}`),
        dispose: () => {
          log.push(`dispose ${key}`);
          return Promise.resolve();
        },
      });
    };
}

describe('llm/ContextPool', () => {
  it('creates a context once per key and shares it', async () => {
    const log: string[] = [];
    const make = factory(log);
    const pool = new ContextPool<string>({ maxContexts: 4, maxQueuePerContext: 10 });
    const results = await Promise.all([1, 2, 3].map(() => pool.run('a', make('a'), (s) => Promise.resolve(s))));
    assert.deepEqual(results, ['a#0', 'a#0', 'a#0']);
    assert.deepEqual(log, ['create a']);
    await pool.close();
    assert.deepEqual(log, ['create a', 'dispose a']);
  });

  it('evicts the least recently used idle context beyond maxContexts', async () => {
    const log: string[] = [];
    const make = factory(log);
    const pool = new ContextPool<string>({ maxContexts: 2, maxQueuePerContext: 10 });
    await pool.run('a', make('a'), () => Promise.resolve());
    await pool.run('b', make('b'), () => Promise.resolve());
    await pool.run('a', make('a'), () => Promise.resolve());
    await pool.run('c', make('c'), () => Promise.resolve());
    await pool.disposed();
    assert.deepEqual(log, ['create a', 'create b', 'create c', 'dispose b']);
    assert.equal(pool.size, 2);
    await pool.close();
  });

  it('never evicts a context with work in flight', async () => {
    const log: string[] = [];
    const make = factory(log);
    const pool = new ContextPool<string>({ maxContexts: 1, maxQueuePerContext: 10 });
    let finish!: () => void;
    const busy = pool.run('a', make('a'), () => new Promise<void>((r) => (finish = r)));
    await new Promise((r) => setImmediate(r));
    await pool.run('b', make('b'), () => Promise.resolve());
    assert.deepEqual(log, ['create a', 'create b']);
    finish();
    await busy;
    await pool.disposed();
    assert.equal(pool.size, 1);
    assert.ok(log.includes('dispose b') || log.includes('dispose a'));
    await pool.close();
  });

  it('forgets a failed creation so that the next request retries', async () => {
    const pool = new ContextPool<string>({ maxContexts: 2, maxQueuePerContext: 10 });
    await assert.rejects(pool.run('a', () => Promise.reject(new Error('bad adapter')), () => Promise.resolve()), /bad adapter/);
    assert.equal(pool.size, 0);
    const log: string[] = [];
    assert.equal(await pool.run('a', factory(log)('a'), (s) => Promise.resolve(s)), 'a#0');
    await pool.close();
  });

  it('drop() waits for in-flight work before disposing', async () => {
    const log: string[] = [];
    const pool = new ContextPool<string>({ maxContexts: 2, maxQueuePerContext: 10 });
    let finish!: () => void;
    const busy = pool.run('a', factory(log)('a'), () => new Promise<void>((r) => (finish = r)).then(() => log.push('done')));
    await new Promise((r) => setImmediate(r));
    const dropped = pool.drop('a');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['create a']);
    finish();
    await Promise.all([busy, dropped]);
    assert.deepEqual(log, ['create a', 'done', 'dispose a']);
  });
});
