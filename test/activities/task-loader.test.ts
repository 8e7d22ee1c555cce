import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { createFsTaskLoader } from '../../activities/task-loader';
import { TaskSpecSchema, type TaskSpec } from '../../workflows/core/config';
import { FailureType } from '../../workflows/core/errors';
import { tmpDirs } from './tmp-dir';

const FIXTURES = path.resolve(__dirname, '../fixtures/tasks');
const spec = (input: Record<string, unknown>): TaskSpec => TaskSpecSchema.parse({ type: 'multiple_choice', ...input });

async function invalidTaskData(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(e)}`);
    assert.equal(e.type, FailureType.InvalidTaskData);
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('task-loader', () => {
  const loader = createFsTaskLoader({ dataRoot: FIXTURES });
  const dirs = tmpDirs('tasks');
  after(() => dirs.cleanup());

  it('paper JSON with dict choices, relative to the data root; sha256 of the bytes', async () => {
    const { sha256, data } = await loader.load(spec({ path: 'mc-paper.json' }));
    assert.equal(sha256, createHash('sha256').update(readFileSync(path.join(FIXTURES, 'mc-paper.json'))).digest('hex'));
    assert.equal(data.dev.length, 4);
    assert.equal(data.test.length, 2);
    assert.deepEqual(data.dev[1], {
      id: '102',
      question: 'How many legs does a spider have?',
      choices: [
        { letter: 'A', text: 'six' },
        { letter: 'B', text: 'four' },
        { letter: 'C', text: 'eight' },
        { letter: 'D', text: 'ten' },
      ],
      answer: 'C',
    });
  });

  it('JSONL with a split field and list choices "A. 16"; absolute paths', async () => {
    const { data } = await loader.load(spec({ path: path.join(FIXTURES, 'mc-split.jsonl') }));
    assert.deepEqual(data.dev.map((i) => i.id), ['q1', 'q3', 'q4']);
    assert.deepEqual(data.test.map((i) => i.id), ['q2', 'q5']);
    assert.deepEqual(data.dev[0]?.choices?.[1], { letter: 'B', text: '5' });
  });

  it('JSONL without split: devFraction leading items are dev', async () => {
    const half = await loader.load(spec({ path: 'mc-nosplit.jsonl' }));
    assert.deepEqual(half.data.dev.map((i) => i.id), ['n1', 'n2', 'n3']);
    assert.deepEqual(half.data.test.map((i) => i.id), ['n4', 'n5', 'n6']);
    const third = await loader.load(spec({ path: 'mc-nosplit.jsonl', devFraction: 0.34 }));
    assert.deepEqual(third.data.dev.map((i) => i.id), ['n1', 'n2']);
  });

  it('exact match; devLimit / testLimit keep the first items', async () => {
    const { data } = await loader.load(spec({ path: 'exact.jsonl', type: 'exact_match', devLimit: 1, testLimit: 1 }));
    assert.deepEqual(data.dev, [{ id: 'e1', question: 'Tom has 3 apples and buys 4 more. How many apples does he have?', answer: '7' }]);
    assert.deepEqual(data.test.map((i) => i.answer), ['50']);
    const all = await loader.load(spec({ path: 'exact.jsonl', type: 'exact_match' }));
    assert.equal(all.data.test[1]?.answer, '12', 'numeric answers become strings');
    assert.equal(all.data.test.length, 2, 'limits do not leak into the memo');
  });

  it('explicit format overrides the extension; unknown extension needs one', async () => {
    const dir = await dirs.make();
    const file = path.join(dir, 'items.txt');
    await copyFile(path.join(FIXTURES, 'mc-split.jsonl'), file);
    await invalidTaskData(loader.load(spec({ path: file })), /cannot tell the format/);
    const { data } = await loader.load(spec({ path: file, format: 'jsonl' }));
    assert.equal(data.dev.length, 3);
  });

  it('errors name the file and the item', async () => {
    await invalidTaskData(loader.load(spec({ path: 'no-such-file.jsonl' })), /no-such-file\.jsonl not found/);
    await invalidTaskData(loader.load(spec({ path: 'bad-answer.jsonl' })), /bad-answer\.jsonl: line 2\.answer: "E" is not one of the option letters A, B/);
    await invalidTaskData(loader.load(spec({ path: 'bad-line.jsonl' })), /bad-line\.jsonl: line 2: not valid JSON/);
    await invalidTaskData(loader.load(spec({ path: 'bad-paper.json' })), /bad-paper\.json: dev\[1\]\.question: question is empty/);
    await invalidTaskData(loader.load(spec({ path: 'mc-split.jsonl', format: 'paper-json' })), /mc-split\.jsonl: not valid JSON/);
    await invalidTaskData(loader.load(spec({ path: 'exact.jsonl' })), /exact\.jsonl: line 1: multiple-choice item has no "choices"/);
  });

  it('rejects an empty dev split', async () => {
    await invalidTaskData(loader.load(spec({ path: 'only-test.jsonl' })), /only-test\.jsonl: the dev split is empty/);
  });

  it('re-reads a file whose mtime or size changed', async () => {
    const dir = await dirs.make();
    const file = path.join(dir, 'task.jsonl');
    await copyFile(path.join(FIXTURES, 'mc-split.jsonl'), file);
    const local = createFsTaskLoader({ dataRoot: dir });
    const first = await local.load(spec({ path: 'task.jsonl' }));
    assert.equal((await local.load(spec({ path: 'task.jsonl' }))).data.dev, first.data.dev, 'memoised');
    const extra = '{"id": "q6", "question": "What is 0 + 0?", "choices": ["A. 0", "B. 1"], "answer": "A", "split": "dev"}\n';
    await writeFile(file, readFileSync(file, 'utf8') + extra);
    const second = await local.load(spec({ path: 'task.jsonl' }));
    assert.notEqual(second.sha256, first.sha256);
    assert.equal(second.data.dev.length, 4);
    await writeFile(file, readFileSync(file, 'utf8').replace('"q6"', '"q7"'));
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    const third = await local.load(spec({ path: 'task.jsonl' }));
    assert.equal(third.data.dev[3]?.id, 'q7', 'same size, new mtime: re-read');
  });

  const SHARED = path.resolve(__dirname, '../../../shared/data');
  const sharedAvailable = existsSync(path.join(SHARED, 'synthetic/arith-mc.jsonl')) && existsSync(path.join(SHARED, 'paper-eval/gsm8k.json'));
  (sharedAvailable ? it : it.skip)('reads the shared data files by path (../shared/data)', async () => {
    const shared = createFsTaskLoader({ dataRoot: SHARED });
    const arith = await shared.load(spec({ path: 'synthetic/arith-mc.jsonl' }));
    assert.equal(arith.data.dev.length + arith.data.test.length, 300);
    assert.equal(arith.sha256.slice(0, 16), 'ca254ab7be4bd8a8');
    assert.equal(arith.data.dev[0]?.id, 'arith-000');
    assert.deepEqual(arith.data.dev[0]?.choices?.[0], { letter: 'A', text: '16' });
    const gsm = await shared.load(spec({ path: 'paper-eval/gsm8k.json', type: 'exact_match', devLimit: 10 }));
    assert.equal(gsm.data.dev.length, 10);
    assert.equal(gsm.data.test.length, 1000);
    assert.equal(gsm.data.dev[0]?.answer, '150');
    assert.equal(gsm.sha256.slice(0, 16), '2c9543382d0580e7');
  });
});
