/**
 * Baselines on a real local Temporal server against the fake OpenAI endpoint, whose every model answers each
 * question from a fixed table (so every baseline's score is known in advance): best single, chain, star and
 * vote run before the search, land in the report, the status, the counters and the ledger; the systems are
 * wired as documented; and a baseline that fails does not stop the search.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRealDeps } from '../../workers/deps';
import { majorityVote, preferenceOrder } from '../../workflows/core/baselines';
import { TaskSpecSchema } from '../../workflows/core/config';
import { taskPrompt } from '../../workflows/core/prompts';
import { parseTaskText, type TaskItem } from '../../workflows/core/task';
import { baselinesWorkflowId, ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import { statusQuery } from '../../workflows/messages';
import type { SearchReport } from '../../workflows/search.workflow';
import type { VoteTranscript } from '../../activities/baselines';
import type { FakeOpenAi, RecordedRequest } from '../helpers/fake-openai';
import { TINY_TASK, tinyStudy } from '../helpers/study';
import { tempDir, useTemporalAndFake, withWorkers } from '../helpers/temporal';

interface Item {
  id: string;
  answer: string;
  split: 'dev' | 'test';
  /** The item's task prompt, exactly as the models see it (two items may share a question). */
  prompt: string;
}
const ITEMS: Item[] = (() => {
  const spec = TaskSpecSchema.parse({ path: TINY_TASK, type: 'multiple_choice' });
  const { dev, test } = parseTaskText(fs.readFileSync(TINY_TASK, 'utf8'), { ...spec, format: 'jsonl' });
  const item = (split: Item['split']) => (i: TaskItem) => ({ id: i.id, answer: i.answer, split, prompt: `Question: ${taskPrompt(i, spec)}` });
  return [...dev.map(item('dev')), ...test.map(item('test'))];
})();
const MODELS = ['alpha', 'beta', 'gamma'] as const;
type Model = (typeof MODELS)[number];

/** The wrong letter a model gives: the next one after the gold answer. */
const wrong = (gold: string): string => 'ABCD'[('ABCD'.indexOf(gold) + 1) % 4]!;
/**
 * Which items each model gets right. Dev (q1-q6): alpha 2/6, beta 4/6, gamma 3/6 → beta is the best single model.
 * Test (t1-t4): alpha t1 t2, beta t3, gamma t1 t4.
 */
const RIGHT: Record<Model, string[]> = {
  alpha: ['q1', 'q2', 't1', 't2'],
  beta: ['q1', 'q3', 'q4', 'q5', 't3'],
  gamma: ['q2', 'q4', 'q6', 't1', 't4'],
};
const letter = (model: Model, item: Item): string => (RIGHT[model].includes(item.id) ? item.answer : wrong(item.answer));
const itemOf = (prompt: string): Item => {
  const item = ITEMS.find((i) => prompt.endsWith(i.prompt));
  if (!item) throw new Error(`no item in prompt ${prompt}`);
  return item;
};
const modelOf = (req: RecordedRequest): Model => req.model.replace(/^fake-/, '') as Model;
const accuracy = (model: Model, split: 'dev' | 'test'): number => {
  const items = ITEMS.filter((i) => i.split === split);
  return items.filter((i) => letter(model, i) === i.answer).length / items.length;
};

describe('baselines: best single, chain, star and vote before the search', function () {
  this.timeout(240_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeOpenAi;

  useTemporalAndFake((e, f) => {
    env = e;
    fake = f;
  });
  beforeEach(() => fake.setRespond((req) => `${letter(modelOf(req), itemOf(req.prompt))}`));
  afterEach(() => {
    fake.setRespond(undefined);
    fake.setFail(undefined);
  });

  it('runs them on the initial models and reports scores that match the answer table', async () => {
    const study = 'baselines-all';
    const home = tempDir(study);
    const deps = createRealDeps({ home, dataRoot: process.cwd() });
    const report = await withWorkers(env, deps, async () => {
      const handle = await env.client.workflow.start('swarmSearch', {
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        workflowId: studyWorkflowId(study),
        args: [tinyStudy(study, fake.baseURL, { baselines: ['single', 'chain', 'star', 'vote'], maxIterations: 1 })],
      });
      const result = (await handle.result()) as SearchReport;
      const status = await handle.query(statusQuery);
      assert.deepEqual(status.baselines, result.baselines, 'status shows the same baselines');
      return result;
    });

    const b = report.baselines;
    assert.ok(b !== null, 'the report has baselines');
    assert.equal(report.baselinesFailure, null);
    // Best single: every model alone, scored on both splits.
    assert.deepEqual(
      b.singles.map((s) => [s.models[0], s.dev, s.test]),
      MODELS.map((m) => [m, accuracy(m, 'dev'), accuracy(m, 'test')]),
    );
    assert.equal(b.bestSingle, 'beta', 'beta is best on dev (4/6)');
    // Chain alpha → beta → gamma: gamma answers; star: alpha, gamma → beta, which answers (models ignore their inputs here).
    assert.deepEqual(b.chain && [b.chain.models, b.chain.dev, b.chain.test], [['alpha', 'beta', 'gamma'], null, accuracy('gamma', 'test')]);
    assert.deepEqual(b.star && [b.star.models, b.star.test, b.star.correct, b.star.total], [['alpha', 'gamma', 'beta'], accuracy('beta', 'test'), 1, 4]);
    // Vote: per item the majority letter, ties to the model best on dev (beta, then gamma, then alpha).
    const preference = preferenceOrder(MODELS.map((m) => accuracy(m, 'dev')));
    assert.deepEqual(preference, [1, 2, 0]);
    const voted = (split: 'dev' | 'test'): number => {
      const items = ITEMS.filter((i) => i.split === split);
      const correct = items.filter((i) => majorityVote(MODELS.map((m) => ({ parsed: letter(m, i), correct: letter(m, i) === i.answer })), preference).correct);
      return correct.length / items.length;
    };
    assert.equal(b.vote?.dev, voted('dev'));
    assert.equal(b.vote?.test, voted('test'));
    // By hand: test t1 A,B,A ✓; t2 D,A,A ✗; t3 D,C,D ✗; t4 C,C,B ✗ → 1/4. Dev: q1 ✓ q2 ✓ q3 ✗ q4 ✓ q5 ✗ q6 ✗ → 3/6.
    assert.equal(b.vote?.test, 0.25);
    assert.equal(b.vote?.dev, 0.5);

    // The vote's transcript holds every ballot.
    const transcript = (await deps.blobs.getJson(b.vote.transcripts.test)) as VoteTranscript;
    assert.equal(transcript.kind, 'vote');
    assert.deepEqual(
      transcript.items.map((i) => i.ballots),
      ITEMS.filter((i) => i.split === 'test').map((i) => MODELS.map((m) => letter(m, i))),
    );

    // Ledger: 3 singles × 2 splits + chain + star, labelled `baseline`, wired as documented.
    const entries = (await deps.ledger!.list(study)).filter((e) => e.step === 'baseline');
    assert.equal(entries.length, 8);
    const chain = entries.find((e) => e.particle === 3);
    assert.deepEqual(chain && [chain.split, chain.assignment, chain.edges, chain.sink], ['test', ['alpha', 'beta', 'gamma'], [[0, 1], [1, 2]], 2]);
    const star = entries.find((e) => e.particle === 4);
    assert.deepEqual(star && [star.split, star.assignment, star.edges, star.sink], ['test', ['alpha', 'gamma', 'beta'], [[0, 2], [1, 2]], 2]);
    // The chain's sink read its predecessor's answer; the star's hub read both leaves.
    const hubPrompts = fake.requests.filter((r) => modelOf(r) === 'beta' && r.prompt.includes('Previous response 2:'));
    assert.ok(hubPrompts.length >= 4, 'the star hub was prompted with two previous responses');

    // Counters include the baselines' evaluations; the role step's source-node calls came from the cache.
    assert.ok(report.counters.evaluations >= 8 + 2 * 4 + 1);
    assert.ok(report.counters.cacheHits > 0);
  });

  it('a failed baseline is reported, and the search goes on without it', async () => {
    const study = 'baselines-failing';
    // Every test-split question fails with 400 until the role step starts (its first dev call after a test call).
    let sawTest = false;
    let searching = false;
    fake.setFail((req) => {
      const split = itemOf(req.prompt).split;
      if (split === 'test' && !searching) {
        sawTest = true;
        return { status: 400, body: { error: { message: 'baseline fault injected by the test', type: 'invalid_request_error' } } };
      }
      if (split === 'dev' && sawTest) searching = true;
      return undefined;
    });
    const report = await withWorkers(env, createRealDeps({ home: tempDir(study), dataRoot: process.cwd() }), async () => {
      const handle = await env.client.workflow.start('swarmSearch', {
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        workflowId: studyWorkflowId(study),
        args: [tinyStudy(study, fake.baseURL, { baselines: ['single', 'chain'], maxIterations: 1 })],
      });
      return (await handle.result()) as SearchReport;
    });
    assert.equal(report.baselines, null);
    assert.equal(report.baselinesFailure?.type, 'ModelInvocationError.BadRequest');
    assert.match(report.baselinesFailure?.message ?? '', /bad request|400/i);
    assert.equal(report.iterations, 1, 'the search ran');
    assert.ok(Number.isFinite(report.best.testScore));
    const child = await env.client.workflow.getHandle(baselinesWorkflowId(study)).describe();
    assert.equal(child.status.name, 'FAILED', 'the failure is in the baselines child’s history');
  });
});
