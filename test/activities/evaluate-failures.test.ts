import assert from 'node:assert/strict';
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import type { Transcript } from '../../activities/evaluate';
import { FailureType } from '../../workflows/core/errors';
import { questionOf, type FakeOpenAi } from '../helpers/fake-openai';
import { countByKey, evaluationRequest, makeWorld, quietEnv, runEvaluation, scripted, useScriptedFake } from './evaluate-fixture';

/** Asserts an ApplicationFailure of `type`; returns it for more checks. */
async function failsWith(promise: Promise<unknown>, type: string, nonRetryable: boolean): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(error)}`);
    assert.equal(error.type, type, error.message);
    assert.equal(error.nonRetryable, nonRetryable);
    return error;
  }
  assert.fail(`expected a ${type} failure`);
}

const isSinkOf = (question: string) => (prompt: string): boolean => questionOf(prompt) === question && prompt.includes('Previous response 1: beta reviewed it');

describe('evaluateSystem: failures', () => {
  let fake: FakeOpenAi;
  let sha: string;

  useScriptedFake((f, s) => {
    fake = f;
    sha = s;
  });

  it('429 with retry-after → retryable RateLimit with nextRetryDelay; the retry re-sends only the failed call', async () => {
    const world = await makeWorld();
    const sinkOfBees = isSinkOf('What do bees make?');
    fake.setFail((r) => (sinkOfBees(r.prompt) && r.attempt === 1 ? { status: 429, headers: { 'retry-after': '2' } } : undefined));
    const failure = await failsWith(runEvaluation(world.deps, evaluationRequest(fake, sha)), FailureType.ModelRateLimit, false);
    assert.equal(failure.nextRetryDelay, '2000ms');
    const afterFirst = fake.requests.length;
    assert.equal(afterFirst, 12, 'calls in flight finished (and were cached)');

    const retry = await runEvaluation((await makeWorld({ cacheDir: world.cacheDir })).deps, evaluationRequest(fake, sha));
    assert.equal(retry.result.score, 0.75);
    assert.equal(retry.result.usage.calls, 1);
    assert.equal(retry.result.usage.cacheHits, 11);
    const resent = [...countByKey(fake.requests)].filter(([, n]) => n > 1);
    assert.equal(resent.length, 1, 'only the rate-limited call was sent twice');
  });

  it('a stalled endpoint → retryable Timeout without nextRetryDelay', async () => {
    const world = await makeWorld();
    fake.setFail((r) => (r.model === 'fake-beta' ? { delayMs: 5000 } : undefined));
    const failure = await failsWith(runEvaluation(world.deps, evaluationRequest(fake, sha, { requestTimeoutSeconds: 0.3 })), FailureType.ModelTimeout, false);
    assert.equal(failure.nextRetryDelay, undefined);
    assert.equal(fake.requests.filter((r) => r.model === 'fake-beta').length, 2, 'calls queued behind the limit were not sent once stopping');
  });

  it('500 → retryable ServerError; connection reset → retryable Network', async () => {
    fake.setFail(() => ({ status: 500 }));
    await failsWith(runEvaluation((await makeWorld()).deps, evaluationRequest(fake, sha)), FailureType.ModelServerError, false);
    fake.setFail(() => 'reset');
    await failsWith(runEvaluation((await makeWorld()).deps, evaluationRequest(fake, sha)), FailureType.ModelNetwork, false);
  });

  it('401 → non-retryable Auth; 404 → non-retryable NotFound', async () => {
    fake.setFail(() => ({ status: 401 }));
    await failsWith(runEvaluation((await makeWorld()).deps, evaluationRequest(fake, sha)), FailureType.ModelAuth, true);
    fake.setFail(() => ({ status: 404 }));
    await failsWith(runEvaluation((await makeWorld()).deps, evaluationRequest(fake, sha)), FailureType.ModelNotFound, true);
  });

  it('400 on one item with maxErrorFraction 0 → non-retryable BadRequest naming the item', async () => {
    const sky = isSinkOf('Which colour is the sky on a clear day?');
    fake.setFail((r) => (sky(r.prompt) ? { status: 400 } : undefined));
    const failure = await failsWith(runEvaluation((await makeWorld()).deps, evaluationRequest(fake, sha)), FailureType.ModelBadRequest, true);
    assert.match(failure.message, /^1 of 4 items failed with a bad request \(maxErrorFraction 0\); first: item "101" \(dev\[0\]\): .*HTTP 400/);
  });

  it('400 on one item with maxErrorFraction 0.5 → counted in errors and scored wrong', async () => {
    const world = await makeWorld();
    const sky = isSinkOf('Which colour is the sky on a clear day?');
    fake.setFail((r) => (sky(r.prompt) ? { status: 400 } : undefined));
    const { result } = await runEvaluation(world.deps, evaluationRequest(fake, sha, { maxErrorFraction: 0.5 }));
    assert.deepEqual([result.total, result.correct, result.errors, result.unparsable, result.score], [4, 2, 1, 0, 0.5]);
    const transcript = (await world.blobs.getJson(result.transcriptKey)) as Transcript;
    const failed = transcript.items.find((i) => i.id === '101');
    assert.equal(failed?.correct, false);
    assert.equal(failed?.error?.type, FailureType.ModelBadRequest);
    assert.equal(failed?.nodes.length, 2, 'the nodes that ran are recorded');
  });

  it('all-garbage answers → EvaluationDegenerate with the counts', async () => {
    fake.setRespond(() => 'I would rather not say.');
    const failure = await failsWith(runEvaluation((await makeWorld()).deps, evaluationRequest(fake, sha)), FailureType.EvaluationDegenerate, true);
    assert.match(failure.message, /^4 of 4 answers were unparsable \(maxUnparsableFraction 0\.5\)/);
  });

  it('empty answers count as unparsable, within the threshold', async () => {
    fake.setRespond((r) => (questionOf(r.prompt).startsWith('What do bees') ? '' : scripted(r)));
    const { result } = await runEvaluation((await makeWorld()).deps, evaluationRequest(fake, sha));
    assert.deepEqual([result.correct, result.unparsable], [2, 1]);
  });

  it('a changed task file → non-retryable TaskDataChanged', async () => {
    await failsWith(runEvaluation((await makeWorld()).deps, evaluationRequest(fake, 'f'.repeat(64))), FailureType.TaskDataChanged, true);
    assert.equal(fake.requests.length, 0);
  });

  it('an invalid request → non-retryable InvalidSearchConfig before any call', async () => {
    const { deps } = await makeWorld();
    const failure = await failsWith(runEvaluation(deps, evaluationRequest(fake, sha, { assignment: [0, 1] })), FailureType.InvalidSearchConfig, true);
    assert.match(failure.message, /assignment has 2 entries, the graph has 3 nodes/);
    await failsWith(runEvaluation(deps, evaluationRequest(fake, sha, { assignment: [0, 1, 5] })), FailureType.InvalidSearchConfig, true);
    const backwards = { n: 3, edges: [[2, 1], [1, 0]] as [number, number][], sink: 0, order: [0, 1, 2] };
    await failsWith(runEvaluation(deps, evaluationRequest(fake, sha, { graph: backwards })), FailureType.InvalidSearchConfig, true);
    const schema = await failsWith(runEvaluation(deps, { ...evaluationRequest(fake, sha), split: 'train' as 'dev' }), FailureType.InvalidSearchConfig, true);
    assert.match(schema.message, /split/);
    assert.equal(fake.requests.length, 0);
  });

  const diskFull = () => Promise.reject(ApplicationFailure.create({ type: FailureType.StoreUnavailable, message: 'disk full', nonRetryable: false }));

  it('a call cache that fails while writing → retryable StoreUnavailable', async () => {
    const world = await makeWorld();
    const cache = { get: (key: string) => world.cache.get(key), put: diskFull, assertWritable: () => Promise.resolve() };
    await failsWith(runEvaluation((await makeWorld({ cache })).deps, evaluationRequest(fake, sha)), FailureType.StoreUnavailable, false);
  });

  it('a call cache that cannot be written → retryable StoreUnavailable before any call is paid', async () => {
    const world = await makeWorld();
    const cache = { get: (key: string) => world.cache.get(key), put: diskFull, assertWritable: diskFull };
    await failsWith(runEvaluation((await makeWorld({ cache })).deps, evaluationRequest(fake, sha)), FailureType.StoreUnavailable, false);
    assert.equal(fake.requests.length, 0, 'no call was sent');
  });

  it('activity cancellation aborts calls in flight and completes as cancelled', async () => {
    fake.setFail(() => ({ delayMs: 30_000 }));
    const env = quietEnv();
    const { deps } = await makeWorld();
    const running = runEvaluation(deps, evaluationRequest(fake, sha), env);
    while (fake.inFlight === 0) await new Promise((r) => setTimeout(r, 10));
    env.cancel();
    await assert.rejects(running, CancelledFailure);
    for (let i = 0; i < 100 && fake.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(fake.inFlight, 0, 'the HTTP requests were aborted');
  });
});
