import assert from 'node:assert/strict';
import type { Transcript } from '../../activities/evaluate';
import type { FakeOpenAi } from '../helpers/fake-openai';
import { evaluationRequest, IN_TREE, makeWorld, runEvaluation, useScriptedFake } from './evaluate-fixture';

describe('evaluateSystem: scoring, prompts, cache, concurrency', () => {
  let fake: FakeOpenAi;
  let sha: string;

  useScriptedFake((f, s) => {
    fake = f;
    sha = s;
  });

  it('3-node chain over 2 models: score 3/4, paper prompts, transcript, heartbeats', async () => {
    const world = await makeWorld();
    const { result, heartbeats } = await runEvaluation(world.deps, evaluationRequest(fake, sha));
    assert.deepEqual(
      { score: result.score, total: result.total, correct: result.correct, unparsable: result.unparsable, errors: result.errors },
      { score: 0.75, total: 4, correct: 3, unparsable: 0, errors: 0 },
    );
    assert.equal(result.usage.calls, 12);
    assert.equal(result.usage.cacheHits, 0);
    assert.ok(result.usage.promptTokens > 0 && result.usage.completionTokens > 0);
    assert.equal(fake.requests.length, 12);

    const sky = fake.requests.filter((r) => r.prompt.includes('Which colour is the sky'));
    assert.deepEqual(sky.map((r) => r.model).sort(), ['fake-alpha', 'fake-alpha', 'fake-beta']);
    const middle = sky.find((r) => r.model === 'fake-beta');
    assert.equal(
      middle?.prompt,
      'Please answer the following question with the help of previous responses, feel free to ignore wrong or unhelpful responses.\n' +
        'Previous response 1: fake-alpha notes: the question is "Which colour is the sky on a clear day?"\n' +
        'Question: Please choose an option that best answers the question.\n' +
        'Question: Which colour is the sky on a clear day?\n' +
        'A: green\nB: blue\nC: red\nD: black\n' +
        'The answer is',
    );
    const sink = sky.find((r) => r.model === 'fake-alpha' && r.prompt.includes('Previous response 1: beta reviewed it\n'));
    assert.ok(sink, 'the sink received the middle node output');
    assert.equal(sink.messages.length, 1);
    assert.equal(sink.messages[0]?.role, 'user');
    assert.equal(sink.maxTokens, 50);
    assert.equal(sink.temperature, 0);

    const transcript = (await world.blobs.getJson(result.transcriptKey)) as Transcript;
    assert.deepEqual(transcript.label, { study: 'unit', iteration: 0, step: 'role', particle: 0 });
    assert.equal(transcript.split, 'dev');
    assert.deepEqual(transcript.assignment, ['alpha', 'beta', 'alpha']);
    assert.deepEqual(
      transcript.items.map((i) => [i.id, i.gold, i.parsed, i.correct]),
      [
        ['101', 'B', 'B', true],
        ['102', 'C', 'C', true],
        ['103', 'A', 'D', false],
        ['104', 'D', 'D', true],
      ],
    );
    const first = transcript.items[0]!;
    assert.deepEqual(first.nodes.map((n) => [n.node, n.model, n.cached]), [[0, 'alpha', false], [1, 'beta', false], [2, 'alpha', false]]);
    assert.equal(first.nodes[0]?.output, 'fake-alpha notes: the question is "Which colour is the sky on a clear day?"');
    assert.equal(first.nodes[1]?.prompt, middle?.prompt);

    assert.deepEqual(heartbeats[0], { done: 0, total: 0 });
    assert.deepEqual(heartbeats.at(-1), { done: 4, total: 4 });
  });

  it('a second run of the same request makes 0 calls: all cache hits, same score', async () => {
    const world = await makeWorld();
    const first = await runEvaluation(world.deps, evaluationRequest(fake, sha));
    const sent = fake.requests.length;
    const again = await makeWorld({ cacheDir: world.cacheDir });
    const second = await runEvaluation(again.deps, evaluationRequest(fake, sha));
    assert.equal(fake.requests.length, sent, 'no request reached the server');
    assert.deepEqual(second.result.usage, { calls: 0, cacheHits: 12, promptTokens: 0, completionTokens: 0, costUsd: 0 });
    assert.equal(second.result.score, first.result.score);
    const transcript = (await again.blobs.getJson(second.result.transcriptKey)) as Transcript;
    assert.ok(transcript.items.every((i) => i.nodes.every((n) => n.cached)));
  });

  it('3-node in-tree: predecessors in increasing node index; score 4/4', async () => {
    const world = await makeWorld();
    const { result } = await runEvaluation(world.deps, evaluationRequest(fake, sha, { graph: IN_TREE, assignment: [1, 0, 1] }));
    assert.equal(result.score, 1);
    assert.equal(result.correct, 4);
    assert.equal(result.usage.calls, 12);
    const sink = fake.requests.find((r) => r.model === 'fake-beta' && r.prompt.includes('Previous response 2: ') && r.prompt.includes('spider'));
    assert.match(
      sink?.prompt ?? '',
      /^Please answer the following question with the help of previous responses, feel free to ignore wrong or unhelpful responses\.\nPrevious response 1: fake-beta notes: the question is "How many legs does a spider have\?"\nPrevious response 2: fake-alpha notes: /,
    );
  });

  it('identical concurrent calls are paid once (single flight)', async () => {
    const world = await makeWorld();
    const { result } = await runEvaluation(world.deps, evaluationRequest(fake, sha, { graph: IN_TREE, assignment: [0, 0, 1] }));
    assert.equal(result.score, 1);
    assert.deepEqual([result.usage.calls, result.usage.cacheHits], [8, 4]);
    assert.equal(fake.requests.length, 8);
    assert.ok([...fake.requests].every((r, i, all) => all.findIndex((o) => o.key === r.key) === i), 'no body sent twice');
  });

  it('heartbeats while calls are slow (progress every interval, not only per item)', async () => {
    fake.setDelayMs(150);
    const { result, heartbeats } = await runEvaluation((await makeWorld()).deps, evaluationRequest(fake, sha));
    assert.equal(result.total, 4);
    assert.ok(heartbeats.length >= 6, `only ${heartbeats.length} heartbeats in ~450 ms at a 50 ms interval`);
    const done = heartbeats.map((h) => (h as { done: number }).done);
    assert.deepEqual([...done].sort((a, b) => a - b), done, 'progress never goes back');
  });

  it('respects the per-endpoint concurrency limit (measured by the server)', async () => {
    fake.setDelayMs(40);
    const world = await makeWorld();
    const oneModel = evaluationRequest(fake, sha, { assignment: [0, 0, 0], concurrency: 2 });
    await runEvaluation(world.deps, oneModel);
    assert.equal(fake.maxInFlight, 2);

    fake.reset();
    const limited = await makeWorld();
    const [alpha, beta] = oneModel.models;
    await runEvaluation(limited.deps, { ...oneModel, models: [{ ...alpha!, concurrency: 1 }, beta!], concurrency: 4 });
    assert.equal(fake.maxInFlight, 1, "a model's own concurrency wins");
  });
});
