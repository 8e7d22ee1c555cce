/**
 * Bad task files (test/fixtures/bad-input/tasks) and bad task paths: `loadTask` — the first activity of a
 * study — fails with a non-retryable `InvalidTaskData` that names the file and the line or field.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { createTaskActivities } from '../../activities/task';
import { createFsTaskLoader } from '../../activities/task-loader';
import { TaskSpecSchema } from '../../workflows/core/config';
import { FailureType } from '../../workflows/core/errors';

const ROOT = path.resolve(__dirname, '../fixtures/bad-input/tasks');

interface Case {
  /** task.path, relative to ROOT. */
  path: string;
  /** Further task fields. */
  spec?: Record<string, unknown>;
  /** What the message says after "task file <file>: " (or in full for task.path problems). */
  message: RegExp;
}

/** Files in ROOT, each rejected. */
const FILES: Case[] = [
  { path: 'answer-letter-out-of-range.jsonl', message: /line 3\.answer: "E" is not one of the option letters A, B, C, D/ },
  { path: 'answer-missing.jsonl', message: /line 2\.answer: missing: every item needs "answer"/ },
  { path: 'answer-null.jsonl', message: /line 1\.answer: expected the gold answer as a string/ },
  { path: 'question-missing.jsonl', message: /line 4\.question: missing: every item needs "question"/ },
  { path: 'question-not-a-string.jsonl', message: /line 1\.question: expected the question as a string/ },
  { path: 'choices-not-a-list.jsonl', message: /line 2\.choices: expected a list of at least 2 option texts or an object/ },
  { path: 'choices-only-one.jsonl', message: /line 1\.choices: .*>=2 items/ },
  { path: 'choices-key-not-a-letter.jsonl', message: /line 1\.choices: option key "1" is not a capital letter A-Z/ },
  { path: 'split-unknown.jsonl', message: /line 1\.split: .*expected one of "dev"\|"test"/ },
  { path: 'line-not-an-object.jsonl', message: /line 2: expected an item: a JSON object with "question" and "answer"/ },
  { path: 'invalid-json-line.jsonl', message: /line 3: not valid JSON: / },
  { path: 'non-utf8.jsonl', message: /line 2 is not valid UTF-8 text/ },
  { path: 'dev-split-empty.jsonl', message: /the dev split is empty$/ },
  { path: 'no-items.jsonl', message: /the dev split is empty \(the file has no items\)/ },
  { path: 'paper-no-dev.json', message: /"dev" is missing; expected a JSON object with "dev" and "test" arrays/ },
  { path: 'paper-dev-not-a-list.json', message: /"dev" is not an array; expected a JSON object with "dev" and "test" arrays/ },
  { path: 'paper-dev-empty.json', message: /the dev split is empty/ },
  { path: 'paper-answer-wrong-letter.json', message: /dev\[1\]\.answer: "C" is not one of the option letters A, B/ },
  { path: 'paper-invalid-json.json', message: /not valid JSON: Unexpected token '\]'/ },
];

/** Paths that are wrong whatever the file holds. */
const PATHS: Case[] = [
  { path: '../../tasks/mc-split.jsonl', message: /^task\.path "\.\.\/\.\.\/tasks\/mc-split\.jsonl" resolves to .*, outside the data root .*HS_DATA_ROOT/ },
  { path: '../../../../../../../../../etc/passwd', spec: { format: 'jsonl' }, message: /^task\.path "(\.\.\/)+etc\/passwd" resolves to \/etc\/passwd, outside the data root/ },
  { path: 'nested/../../escape.jsonl', message: /^task\.path "nested\/\.\.\/\.\.\/escape\.jsonl" resolves to .*, outside the data root/ },
  { path: '.', spec: { format: 'jsonl' }, message: /is not a regular file/ },
  { path: 'answers.txt', message: /cannot tell the format from the extension/ },
];

/** The corpus may grow, never shrink silently. */
const MIN_CASES = 24;

describe('bad input: task files', () => {
  const { loadTask } = createTaskActivities({ tasks: createFsTaskLoader({ dataRoot: ROOT }) });

  it(`the corpus has at least ${MIN_CASES} cases; every file in tasks/ has one`, () => {
    assert.deepEqual(readdirSync(ROOT).sort(), FILES.map((c) => c.path).sort());
    assert.ok(FILES.length + PATHS.length >= MIN_CASES, `${FILES.length + PATHS.length} cases`);
  });

  for (const c of [...FILES, ...PATHS]) {
    it(`${c.path} → ${String(c.message)}`, async () => {
      const spec = TaskSpecSchema.parse({ type: 'multiple_choice', ...c.spec, path: c.path });
      const file = path.resolve(ROOT, c.path);
      await assert.rejects(loadTask(spec), (e: unknown) => {
        assert.ok(e instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(e)}`);
        assert.equal(e.type, FailureType.InvalidTaskData);
        assert.equal(e.nonRetryable, true);
        assert.ok(e.message.includes(file) || e.message.includes(`task.path "${c.path}"`), `names the file: ${e.message}`);
        assert.doesNotMatch(e.message, /\n/, 'one line');
        assert.match(e.message, c.message);
        return true;
      });
    });
  }
});
