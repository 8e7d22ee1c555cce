import assert from 'node:assert/strict';
import { TaskDataError, parseTaskText, type ParseTaskOptions } from '../../workflows/core/task';

const PAPER_MC: ParseTaskOptions = { format: 'paper-json', type: 'multiple_choice', devFraction: 0.5 };
const JSONL_MC: ParseTaskOptions = { format: 'jsonl', type: 'multiple_choice', devFraction: 0.5 };
const JSONL_EM: ParseTaskOptions = { format: 'jsonl', type: 'exact_match', devFraction: 0.5 };

const lines = (...values: unknown[]): string => values.map((v) => JSON.stringify(v)).join('\n');

function throwsTaskError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TaskDataError, `expected a TaskDataError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('core/task', () => {
  describe('paper-json ({dataset, dev, test}, data/eval/*.json)', () => {
    it('parses dict choices in key order, keeps ids as strings, ignores extra fields', () => {
      const text = JSON.stringify({
        dataset: 'mmlu',
        dev: [{ question: 'Who?', choices: { A: 'Neandertals', B: 'Homo erectus', C: 'x', D: 'All of the above' }, answer: 'A', id: 1997, domain: 'prehistory' }],
        test: [
          { question: 'Q1', choices: { A: 'a', B: 'b' }, answer: 'B', id: 'k-1' },
          { question: 'Q2', choices: { A: 'a', B: 'b', C: 'c' }, answer: 'C' },
        ],
      });
      const data = parseTaskText(text, PAPER_MC);
      assert.deepEqual(data.dev, [
        {
          id: '1997',
          question: 'Who?',
          choices: [
            { letter: 'A', text: 'Neandertals' },
            { letter: 'B', text: 'Homo erectus' },
            { letter: 'C', text: 'x' },
            { letter: 'D', text: 'All of the above' },
          ],
          answer: 'A',
        },
      ]);
      assert.equal(data.test.length, 2);
      assert.equal(data.test[0]!.id, 'k-1');
      assert.equal(data.test[1]!.answer, 'C');
      assert.equal(data.test[1]!.id, '1', 'no id ⇒ the index');
    });

    it('exact match: numeric and string answers become trimmed strings; choices are not required', () => {
      const text = JSON.stringify({ dataset: 'GSM8k', dev: [{ question: 'q', answer: '112', id: 0, domain: 'gsm8k' }], test: [{ question: 'q2', answer: 36 }, { question: 'q3', answer: ' 36,000 ' }] });
      const data = parseTaskText(text, { ...PAPER_MC, type: 'exact_match' });
      assert.deepEqual(data.dev, [{ id: '0', question: 'q', answer: '112' }]);
      assert.deepEqual(data.test.map((i) => i.answer), ['36', '36,000']);
    });

    it('errors name the split, item index and field', () => {
      const doc = (item: unknown): string => JSON.stringify({ dev: [{ question: 'ok', choices: { A: 'a', B: 'b' }, answer: 'A' }, item], test: [] });
      throwsTaskError(() => parseTaskText(doc({ question: 'q', choices: { A: 'a', B: 'b' }, answer: 'E' }), PAPER_MC), /^dev\[1\]\.answer: "E" is not one of the option letters A, B$/);
      throwsTaskError(() => parseTaskText(doc({ choices: { A: 'a', B: 'b' }, answer: 'A' }), PAPER_MC), /^dev\[1\]\.question: /);
      throwsTaskError(() => parseTaskText(doc({ question: '', choices: { A: 'a', B: 'b' }, answer: 'A' }), PAPER_MC), /^dev\[1\]\.question: question is empty/);
      throwsTaskError(() => parseTaskText(doc({ question: 'q', answer: 'A' }), PAPER_MC), /^dev\[1\]: multiple-choice item has no "choices"/);
      throwsTaskError(() => parseTaskText(doc({ question: 'q', choices: { a: 'x', B: 'y' }, answer: 'B' }), PAPER_MC), /^dev\[1\]\.choices: option key "a"/);
      throwsTaskError(
        () => parseTaskText(JSON.stringify({ dev: [], test: [{ question: 'q', choices: { A: 'a', B: 'b' } }] }), PAPER_MC),
        /^test\[0\]\.answer: /,
      );
    });

    it('rejects bad JSON and a document without dev/test arrays', () => {
      throwsTaskError(() => parseTaskText('{"dev": [', PAPER_MC), /^not valid JSON: /);
      throwsTaskError(() => parseTaskText('{"dev": []}', PAPER_MC), /"dev" and "test" arrays/);
      throwsTaskError(() => parseTaskText('[]', PAPER_MC), /"dev" and "test" arrays/);
    });
  });

  describe('jsonl', () => {
    it('list choices: a matching "A. 16" / "B) 20" / "C: 24" prefix is stripped; other text is kept', () => {
      const data = parseTaskText(lines({ question: 'q', choices: ['A. 16', 'B) 20', 'C: 24', 'D 28', 'B. 32'], answer: 'A', split: 'dev' }), JSONL_MC);
      assert.deepEqual(data.dev[0]!.choices, [
        { letter: 'A', text: '16' },
        { letter: 'B', text: '20' },
        { letter: 'C', text: '24' },
        { letter: 'D', text: 'D 28' },
        { letter: 'E', text: 'B. 32' },
      ]);
    });

    it('dict choices', () => {
      const data = parseTaskText(lines({ question: 'q', choices: { A: '1', B: '2' }, answer: 'B', split: 'test' }), JSONL_MC);
      assert.deepEqual(data.test, [{ id: '0', question: 'q', choices: [{ letter: 'A', text: '1' }, { letter: 'B', text: '2' }], answer: 'B' }]);
    });

    it('the split field wins; lines without it are cut by devFraction in file order', () => {
      const text = [
        JSON.stringify({ id: 't1', question: 'q', answer: '1', split: 'test' }),
        JSON.stringify({ id: 'u1', question: 'q', answer: '2' }),
        '',
        JSON.stringify({ id: 'd1', question: 'q', answer: '3', split: 'dev' }),
        JSON.stringify({ id: 'u2', question: 'q', answer: '4' }),
        '   ',
        JSON.stringify({ id: 'u3', question: 'q', answer: '5' }),
        JSON.stringify({ id: 'u4', question: 'q', answer: '6' }),
        '',
      ].join('\n');
      const half = parseTaskText(text, JSONL_EM);
      assert.deepEqual(half.dev.map((i) => i.id), ['d1', 'u1', 'u2']);
      assert.deepEqual(half.test.map((i) => i.id), ['t1', 'u3', 'u4']);
      const quarter = parseTaskText(text, { ...JSONL_EM, devFraction: 0.25 });
      assert.deepEqual(quarter.dev.map((i) => i.id), ['d1', 'u1']);
      assert.deepEqual(quarter.test.map((i) => i.id), ['t1', 'u2', 'u3', 'u4']);
    });

    it('CRLF line endings parse', () => {
      const text = `${JSON.stringify({ question: 'q', answer: '1' })}\r\n${JSON.stringify({ question: 'q', answer: '2' })}\r\n`;
      const data = parseTaskText(text, JSONL_EM);
      assert.deepEqual([...data.dev, ...data.test].map((i) => i.answer), ['1', '2']);
    });

    it('errors name the 1-based physical line and the field', () => {
      const good = { question: 'q', choices: ['A. 1', 'B. 2'], answer: 'A' };
      throwsTaskError(() => parseTaskText(lines(good, { ...good, answer: 'E' }), JSONL_MC), /^line 2\.answer: "E" is not one of the option letters A, B$/);
      throwsTaskError(() => parseTaskText(lines(good, { choices: ['1', '2'], answer: 'A' }), JSONL_MC), /^line 2\.question: /);
      throwsTaskError(() => parseTaskText(`${JSON.stringify(good)}\n\n{bad json`, JSONL_MC), /^line 3: not valid JSON: /);
      throwsTaskError(() => parseTaskText(lines({ ...good, choices: ['only one'] }), JSONL_MC), /^line 1\.choices: /);
      throwsTaskError(() => parseTaskText(lines({ ...good, split: 'train' }), JSONL_MC), /^line 1\.split: /);
      throwsTaskError(() => parseTaskText(lines({ question: 'q', answer: '' }), JSONL_EM), /^line 1\.answer: answer is empty/);
    });
  });
});
