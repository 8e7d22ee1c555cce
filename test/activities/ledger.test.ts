import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createFsLedger, ledgerKey } from '../../activities/ledger';
import { FailureType } from '../../workflows/core/errors';
import { LedgerEntrySchema, type LedgerEntry } from '../../workflows/core/ledger';
import type { FakeOpenAi } from '../helpers/fake-openai';
import { evaluationRequest, makeWorld, runEvaluation, useScriptedFake } from './evaluate-fixture';
import { tmpDirs } from './tmp-dir';

const entry = (overrides: Partial<LedgerEntry> = {}): LedgerEntry => ({
  key: 'a'.repeat(64),
  study: 's',
  iteration: 0,
  step: 'role',
  particle: 0,
  split: 'dev',
  taskSha256: 'b'.repeat(64),
  models: [{ id: 'alpha', served: 'fake-alpha', adapterSha256: null }],
  assignment: ['alpha'],
  edges: [],
  sink: 0,
  order: [0],
  score: 0.5,
  total: 2,
  correct: 1,
  unparsable: 0,
  errors: 0,
  usage: { calls: 2, cacheHits: 0, promptTokens: 10, completionTokens: 4, costUsd: 0 },
  failure: null,
  latencyMs: 12,
  transcriptKey: `sha256:${'c'.repeat(64)}`,
  recordedAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

describe('ledger (file store)', () => {
  const dirs = tmpDirs('ledger');
  after(() => dirs.cleanup());

  it('writes one file per key; the first record of a key wins', async () => {
    const dir = await dirs.make();
    const ledger = createFsLedger(dir);
    await ledger.record(entry());
    await ledger.record(entry({ latencyMs: 99, recordedAt: '2026-02-02T00:00:00.000Z' }));
    assert.deepEqual(await readdir(path.join(dir, 's')), [`${'a'.repeat(64)}.json`]);
    const [only, ...rest] = await ledger.list('s');
    assert.equal(rest.length, 0);
    assert.equal(only?.latencyMs, 12, 'a retried activity does not rewrite history');
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, 's', `${'a'.repeat(64)}.json`), 'utf8')), entry());
  });

  it('concurrent records of one key: exactly one is written and it never changes afterwards', async () => {
    const dir = await dirs.make();
    const file = path.join(dir, 's', `${'a'.repeat(64)}.json`);
    // Separate ledger objects, as separate worker processes would have; every writer reads the file once its
    // own record returned — all must see the same, first, record.
    const seen = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        await createFsLedger(dir).record(entry({ latencyMs: i }));
        return (JSON.parse(await readFile(file, 'utf8')) as { latencyMs: number }).latencyMs;
      }),
    );
    assert.equal(new Set(seen).size, 1, `every writer saw the same record (saw latencies ${[...new Set(seen)].join(', ')})`);
    assert.deepEqual(await readdir(path.join(dir, 's')), [`${'a'.repeat(64)}.json`], 'no temporary files left');
  });

  it('lists a study in trail order (iteration, step, particle) and nothing for an unknown study', async () => {
    const ledger = createFsLedger(await dirs.make());
    await ledger.record(entry({ key: '1'.repeat(64), iteration: 1, step: 'final', particle: 2, split: 'test' }));
    await ledger.record(entry({ key: '2'.repeat(64), iteration: 1, step: 'role', particle: 3 }));
    await ledger.record(entry({ key: '3'.repeat(64), iteration: 1, step: 'role', particle: 0 }));
    await ledger.record(entry({ key: '4'.repeat(64), iteration: 0, step: 'weight', particle: 1 }));
    await ledger.record(entry({ key: '5'.repeat(64), study: 'other' }));
    const trail = await ledger.list('s');
    assert.deepEqual(
      trail.map((e) => `${e.iteration}/${e.step}/${e.particle}`),
      ['0/weight/1', '1/role/0', '1/role/3', '1/final/2'],
    );
    assert.deepEqual(await ledger.list('nobody'), []);
  });

  it('rejects an entry that does not fit the schema', async () => {
    const ledger = createFsLedger(await dirs.make());
    await assert.rejects(ledger.record(entry({ key: 'not-a-hash' })), /key/);
    assert.equal(LedgerEntrySchema.safeParse({ ...entry(), extra: 1 }).success, false);
  });
});

describe('evaluateSystem records its evaluation in the ledger', () => {
  let fake: FakeOpenAi;
  let sha: string;
  const dirs = tmpDirs('ledger-eval');
  after(() => dirs.cleanup());
  useScriptedFake((f, s) => {
    fake = f;
    sha = s;
  });

  it('one entry with the identity, counts, usage and transcript key; a re-run keeps it', async () => {
    const world = await makeWorld();
    const ledger = createFsLedger(await dirs.make());
    const request = evaluationRequest(fake, sha, { label: { study: 'led', iteration: 3, step: 'weight', particle: 1 } });
    const { result } = await runEvaluation({ ...world.deps, ledger }, request);
    const [recorded, ...rest] = await ledger.list('led');
    assert.equal(rest.length, 0);
    assert.ok(recorded);
    assert.equal(recorded.key, ledgerKey(request, sha));
    assert.deepEqual(
      { ...recorded, latencyMs: 0, recordedAt: '' },
      {
        key: ledgerKey(request, sha),
        study: 'led',
        iteration: 3,
        step: 'weight',
        particle: 1,
        split: 'dev',
        taskSha256: sha,
        models: [
          { id: 'alpha', served: 'fake-alpha', adapterSha256: null },
          { id: 'beta', served: 'fake-beta', adapterSha256: null },
        ],
        assignment: ['alpha', 'beta', 'alpha'],
        edges: request.graph.edges,
        sink: request.graph.sink,
        order: request.graph.order,
        score: result.score,
        total: result.total,
        correct: result.correct,
        unparsable: result.unparsable,
        errors: result.errors,
        usage: result.usage,
        failure: null,
        latencyMs: 0,
        transcriptKey: result.transcriptKey,
        recordedAt: '',
      },
    );
    assert.ok(recorded.latencyMs >= 0 && !Number.isNaN(Date.parse(recorded.recordedAt)));

    const again = await runEvaluation({ ...world.deps, ledger }, request);
    assert.equal(again.result.usage.calls, 0, 'answered from the cache');
    assert.deepEqual(await ledger.list('led'), [recorded], 'the first record stays');

    const test = evaluationRequest(fake, sha, { label: { study: 'led', iteration: 3, step: 'weight', particle: 1 }, split: 'test' });
    assert.notEqual(ledgerKey(test, sha), recorded.key, 'the split is part of the identity');
  });

  it('a rejected evaluation (EvaluationDegenerate) is recorded with its failure, counts and transcript', async () => {
    fake.setRespond(() => 'I would rather not say.');
    const world = await makeWorld();
    const ledger = createFsLedger(await dirs.make());
    const request = evaluationRequest(fake, sha, { label: { study: 'degen', iteration: 0, step: 'role', particle: 2 } });
    await assert.rejects(runEvaluation({ ...world.deps, ledger }, request), (e: Error) => /answers were unparsable/.test(e.message));
    const [recorded, ...rest] = await ledger.list('degen');
    assert.equal(rest.length, 0);
    assert.equal(recorded?.failure?.type, FailureType.EvaluationDegenerate);
    assert.match(recorded?.failure?.message ?? '', /^4 of 4 answers were unparsable/);
    assert.deepEqual([recorded?.unparsable, recorded?.total, recorded?.correct], [4, 4, 0]);
    const transcript = (await world.blobs.getJson(recorded?.transcriptKey ?? '')) as { items: { parsed: string | null }[] };
    assert.deepEqual(transcript.items.map((i) => i.parsed), [null, null, null, null], 'the unusable answers are kept for the audit');
  });
});
