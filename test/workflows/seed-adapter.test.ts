/**
 * The `seed` update with an adapter, on a real local Temporal server against the fake vLLM: a LoRA file
 * becomes a model particle's position (v = 0) and the model's current version at the next iteration — the
 * role step evaluates with `<id>@<sha12>` of the seeded file, the weight step moves it from there, and the
 * particle's personal best stays. Bad seeds are refused: by the validator (InvalidUpdate: unknown model, model
 * without adapter) or by the import activity (AdapterError.*: other tensor layout, missing file, wrong pin).
 * The seed is made while its activities still run as the study continues as new: it must reach the next run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ggufFormat } from '../../adapters/gguf-tensors';
import { createFsBlobStore } from '../../activities/blob-store';
import { createRealDeps } from '../../workers/deps';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, roleStepWorkflowId, studyWorkflowId, weightStepWorkflowId } from '../../workflows/core/names';
import type { ModelVersion, WeightState } from '../../workflows/core/state';
import { configureUpdate, particlesQuery, pauseSignal, resumeSignal, seedUpdate, statusQuery } from '../../workflows/messages';
import type { SearchReport } from '../../workflows/search.workflow';
import type { WeightStepResult } from '../../workflows/weight-step.workflow';
import { answerKey, writeGgufAdapter } from '../helpers/adapters';
import { meanForSkill, startFakeVllm, type FakeVllm } from '../helpers/fake-vllm';
import { jointStudy, TINY_TASK } from '../helpers/study';
import { startLocalTemporal, tempDir, withWorkers } from '../helpers/temporal';
import { until } from '../helpers/wait';

describe('seed: an adapter as a model particle (real local Temporal server, fake vLLM)', function () {
  this.timeout(300_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeVllm;
  const adapters = tempDir('seed-adapters');
  const seeds = tempDir('seed-files');
  const seedFile = path.join(seeds, 'alpha-seed.gguf');
  const narrowFile = path.join(seeds, 'narrow.gguf');

  before(async () => {
    await writeGgufAdapter(path.join(adapters, 'alpha.gguf'), meanForSkill(0.3), 1);
    await writeGgufAdapter(path.join(adapters, 'beta.gguf'), meanForSkill(0.6), 2);
    await writeGgufAdapter(seedFile, meanForSkill(0.95), 99);
    await writeGgufAdapter(narrowFile, meanForSkill(0.95), 98, 4);
    [env, fake] = await Promise.all([
      startLocalTemporal(),
      startFakeVllm({ answers: answerKey(TINY_TASK), initial: { 'fake-alpha': path.join(adapters, 'alpha.gguf'), 'fake-beta': path.join(adapters, 'beta.gguf') } }),
    ]);
  });
  after(async () => {
    await Promise.all([env?.teardown(), fake?.close()]);
  });

  /** alpha and beta (adapters, one weight swarm), epsilon (fixed); continue-as-new after every iteration. */
  const config = (study: string): SearchConfigInput => {
    const joint = jointStudy(study, fake.baseURL, adapters, ['alpha', 'beta'], {
      roleStep: { particles: 3 },
      weightStep: { assignments: 3 },
      maxIterations: 20,
      patience: 1000,
      continueAsNewEvery: 1,
      seed: 5,
      evaluation: { heartbeatTimeoutSeconds: 5 },
    });
    return { ...joint, models: [...joint.models, { id: 'epsilon', baseURL: fake.baseURL, model: 'fake-epsilon' }] };
  };

  /** The input a child workflow was started with. */
  const childInput = async <T>(workflowId: string): Promise<T> => {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    return env.client.options.loadedDataConverter.payloadConverter.fromPayload(payloads[0]!);
  };

  /** The failure of a seed update: its type and message. */
  const refusal = async (handle: WorkflowHandle, request: unknown): Promise<{ type: string | undefined; message: string }> => {
    const error = await handle.executeUpdate(seedUpdate, { args: [request as never] }).then(
      () => assert.fail(`seed ${JSON.stringify(request)} should be refused`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
    const cause = error.cause as { type?: string; message: string } | undefined;
    assert.ok(cause !== undefined);
    return { type: cause.type, message: cause.message };
  };

  it('the seeded adapter is evaluated next iteration, then moved; bad seeds are refused; it survives continue-as-new', async () => {
    const study = 'seed-adapter';
    const home = tempDir(study);
    const sha = createHash('sha256').update(readFileSync(seedFile)).digest('hex');
    const served = `alpha@${sha.slice(0, 12)}`;
    await withWorkers(env, createRealDeps({ home, dataRoot: process.cwd() }), async () => {
      const handle = await env.client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config(study)] });
      // Pause while a role step of iteration ≥ 2 runs, so the study stops after it, before continuing as new.
      await until('a role step after iteration 1', async () => {
        const s = await handle.query(statusQuery);
        return s.iteration >= 1 && (s.currentStep ?? '').includes('/role-');
      });
      await handle.signal(pauseSignal);
      await until('paused between iterations', async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'paused' && s.currentStep === null;
      });
      const status = await handle.query(statusQuery);
      const done = status.iteration;
      const oldAlpha = status.models?.[0]?.served;
      assert.match(oldAlpha ?? '', /^alpha@[0-9a-f]{12}$/);

      // Refused by the validator: nothing runs.
      const invalid = async (request: unknown, pattern: RegExp): Promise<void> => {
        const { type, message } = await refusal(handle, request);
        assert.equal(type, 'InvalidUpdate', message);
        assert.match(message, pattern);
      };
      await invalid({ model: 'nobody', adapter: seedFile }, /model: unknown model id "nobody" \(models: alpha, beta, epsilon\)/);
      await invalid({ model: 'epsilon', adapter: seedFile }, /model: model "epsilon" has no adapter in the config, so it is no model particle \(models with one: alpha, beta\)/);
      await invalid({ model: 'alpha', adapter: seedFile, particle: 0 }, /particle: "particle" is for graph seeds/);
      await invalid({ adapter: seedFile }, /model: an "adapter" seed needs "model"/);
      // Refused by the import activity: the update fails with its (non-retryable) type.
      const narrow = await refusal(handle, { model: 'alpha', adapter: narrowFile });
      assert.equal(narrow.type, 'AdapterError.Invalid', narrow.message);
      assert.ok(narrow.message.includes('model "alpha"') && narrow.message.includes(narrowFile), narrow.message);
      assert.match(narrow.message, /tensors differ: tensor layout: tensor 0 is /);
      const missing = await refusal(handle, { model: 'alpha', adapter: path.join(seeds, 'nope.gguf') });
      assert.equal(missing.type, 'AdapterError.Invalid', missing.message);
      assert.match(missing.message, /nope\.gguf .*does not exist/);
      const pinned = await refusal(handle, { model: 'alpha', adapter: seedFile, adapterSha256: 'f'.repeat(64) });
      assert.equal(pinned.type, 'AdapterError.Changed', pinned.message);
      assert.ok(!fake.loads.some((l) => l.name === served), 'nothing of the refused seeds was published');

      const before = await handle.query(particlesQuery);
      const [alphaBefore, betaBefore] = before.models ?? [];
      assert.equal(alphaBefore?.model, 'alpha');
      await handle.executeUpdate(configureUpdate, { args: [{ maxIterations: done + 1 }] });

      // Resume while the seed's activities run: the study continues as new right away, and the seed must go with it.
      const pausedRun = (await handle.describe()).runId;
      const update = await handle.startUpdate(seedUpdate, { args: [{ model: 'alpha', adapter: seedFile }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      await handle.signal(resumeSignal);
      const result = await update.result();
      assert.deepEqual(result, { kind: 'adapter', model: 'alpha', served, sha256: sha, appliesFromIteration: done + 1 });
      assert.ok(fake.loads.some((l) => l.name === served && l.base === 'fake-base'), 'the seed was published before the update answered');

      const report = (await handle.result()) as SearchReport;
      assert.equal(report.iterations, done + 1);

      // The resume came before the seed was ready, and the paused run continued as new without another iteration.
      const events = (await env.client.workflow.getHandle(studyWorkflowId(study), pausedRun).fetchHistory()).events ?? [];
      const last = (found: (e: (typeof events)[number]) => unknown): number => events.reduce((at, e, i) => (found(e) ? i : at), -1);
      const resumed = last((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'resume');
      const completed = last((e) => e.workflowExecutionUpdateCompletedEventAttributes);
      const continued = last((e) => e.workflowExecutionContinuedAsNewEventAttributes);
      assert.ok(resumed >= 0 && resumed < completed && completed < continued, `resume ${resumed} < seed completed ${completed} < continue-as-new ${continued}`);
      assert.equal(events.slice(resumed).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length, 0, 'no iteration ran in the paused run after the resume');

      // Iteration done+1: the role step evaluated systems with the seeded version...
      const seededVersion: ModelVersion = { served, sha256: sha, key: `sha256:${sha}`, iteration: done, seeded: true };
      const role = await childInput<{ versions: (ModelVersion | null)[] }>(roleStepWorkflowId(study, done + 1));
      assert.deepEqual(role.versions[0], seededVersion);
      assert.ok(fake.requests.some((r) => r.model === served), `the fake vLLM was asked for ${served}`);

      // ...the weight step started from it: x = the seed, v = 0, personal best and history as before; beta untouched.
      const weight = await childInput<{ weights: WeightState }>(weightStepWorkflowId(study, done + 1));
      assert.deepEqual(weight.weights.versions[0], seededVersion);
      const [alphaAt, betaAt] = weight.weights.swarms[0]!.particles;
      assert.ok(alphaAt !== undefined);
      assert.equal(alphaAt.position, `sha256:${sha}`);
      assert.deepEqual([alphaAt.personalBest, alphaAt.personalBestScore, alphaAt.history], [alphaBefore?.personalBest, alphaBefore?.personalBestScore, alphaBefore?.history]);
      assert.deepEqual(betaAt, { position: betaBefore?.position, velocity: betaBefore?.velocity, personalBest: betaBefore?.personalBest, personalBestScore: betaBefore?.personalBestScore, history: betaBefore?.history, restartCooldown: betaBefore?.restartCooldown });
      const velocity = await ggufFormat.open(await createFsBlobStore(path.join(home, 'blobs')).filePath(alphaAt.velocity));
      try {
        for (const t of velocity.layout.tensors) assert.ok((await velocity.read(t.name)).every((x) => x === 0), `v = 0 in ${t.name}`);
      } finally {
        await velocity.close();
      }

      // ...and moved it: a new version of iteration done+1 (no longer marked seeded); the replaced ones were unloaded.
      const moved = (await env.client.workflow.getHandle(weightStepWorkflowId(study, done + 1)).result()) as WeightStepResult;
      assert.notEqual(moved.weights.versions[0]?.sha256, sha);
      assert.equal(moved.weights.versions[0]?.iteration, done + 1);
      assert.equal(moved.weights.versions[0]?.seeded, undefined);
      const alpha = report.models?.[0];
      assert.deepEqual([alpha?.served, alpha?.adapterIteration, alpha?.seeded], [moved.weights.versions[0]?.served, done + 1, undefined]);
      assert.ok(fake.unloads.includes(oldAlpha!), `the version the seed replaced (${oldAlpha}) was unloaded`);
      assert.ok(fake.unloads.includes(served), 'the seeded version was unloaded once the weight step moved it');
    });
  });
});
