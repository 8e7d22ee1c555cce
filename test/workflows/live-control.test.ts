/**
 * Live control on a real local Temporal server: `configure` (validated update) changes PSO coefficients and
 * max iterations of a running study from the next iteration on — visible in the role-step children's inputs,
 * in `status`, across continue-as-new, and in when the study stops; bad patches are rejected with the field's
 * path and leave no trace in the history; `particles` shows every particle.
 */
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRealDeps } from '../../workers/deps';
import type { SearchConfig } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, roleStepWorkflowId, studyWorkflowId } from '../../workflows/core/names';
import type { GraphSwarm } from '../../workflows/core/swarm';
import { configureUpdate, pauseSignal, particlesQuery, resumeSignal, seedUpdate, statusQuery } from '../../workflows/messages';
import type { SearchReport } from '../../workflows/search.workflow';
import type { FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy } from '../helpers/study';
import { useTemporalAndFake, tempDir, withWorkers } from '../helpers/temporal';
import { until } from '../helpers/wait';

describe('live control: configure and particles', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeOpenAi;

  useTemporalAndFake((e, f) => {
    env = e;
    fake = f;
  });

  /** The input a role-step child was started with. */
  const roleStepInput = async (study: string, iteration: number): Promise<{ config: SearchConfig; swarm?: GraphSwarm }> => {
    const history = await env.client.workflow.getHandle(roleStepWorkflowId(study, iteration)).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const [args] = await Promise.all(input.map((p) => env.client.options.loadedDataConverter.payloadConverter.fromPayload(p)));
    return args as { config: SearchConfig; swarm?: GraphSwarm };
  };
  const roleStepConfig = async (study: string, iteration: number): Promise<SearchConfig> => (await roleStepInput(study, iteration)).config;

  const rejection = async (handle: WorkflowHandle, patch: unknown, update: typeof configureUpdate | typeof seedUpdate = configureUpdate): Promise<string> => {
    const error = await handle.executeUpdate(update as typeof configureUpdate, { args: [patch as never] }).then(
      () => assert.fail(`patch ${JSON.stringify(patch)} should be rejected`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
    const cause = error.cause as { type?: string; message: string } | undefined;
    assert.equal(cause?.type, 'InvalidUpdate');
    return cause.message;
  };

  it('changes settings from the next iteration on, across continue-as-new, and rejects bad patches', async () => {
    const study = 'live-control';
    await withWorkers(env, createRealDeps({ home: tempDir(study), dataRoot: process.cwd() }), async () => {
      const handle = await env.client.workflow.start('swarmSearch', {
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        workflowId: studyWorkflowId(study),
        args: [tinyStudy(study, fake.baseURL, { maxIterations: 50, patience: 1000, continueAsNewEvery: 1 })],
      });
      await until('iteration 1', async () => (await handle.query(statusQuery)).iteration >= 1);
      await handle.signal(pauseSignal);
      await until('paused between iterations', async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'paused' && s.currentStep === null;
      });

      const pausedRun = (await handle.describe()).runId;
      // Bad patches: rejected by the validator, naming the field.
      assert.match(await rejection(handle, { roleStep: { inertia: -0.5 } }), /roleStep\.inertia/);
      assert.match(await rejection(handle, { roleStep: { particles: 9 } }), /roleStep/);
      assert.match(await rejection(handle, { seed: 3 }), /seed|unrecognized/i);
      assert.match(await rejection(handle, { maxIterations: 0 }), /maxIterations: iteration \d+ is already done/);
      assert.match(await rejection(handle, {}), /empty patch/);
      assert.match(await rejection(handle, { edges: [['alpha', 'nobody']] }, seedUpdate), /unknown model id "nobody"/);
      assert.match(await rejection(handle, { matrix: [[0]] }, seedUpdate), /matrix: must be 3×3/);
      assert.match(await rejection(handle, { edges: [], matrix: [] }, seedUpdate), /exactly one of/);
      assert.match(await rejection(handle, { edges: [['alpha', 'beta']], particle: 9 }, seedUpdate), /particle: there are 4 graph particles/);
      assert.match(await rejection(handle, { model: 'alpha', adapter: '/tmp/a.gguf' }, seedUpdate), /model: model "alpha" has no adapter in the config/);

      const done = (await handle.query(statusQuery)).iteration;
      const result = await handle.executeUpdate(configureUpdate, { args: [{ roleStep: { inertia: 0.55, social: 0.45 }, maxIterations: done + 2, concurrency: 3 }] });
      assert.equal(result.appliesFromIteration, done + 1);
      assert.equal(result.settings.roleStep.inertia, 0.55);
      const seeded = await handle.executeUpdate(seedUpdate, { args: [{ edges: [['alpha', 'beta'], ['beta', 'gamma']] }] });
      assert.ok(seeded.kind === 'graph');
      assert.equal(seeded.appliesFromIteration, done + 1);
      const status = await handle.query(statusQuery);
      assert.deepEqual([status.settings.roleStep.inertia, status.settings.roleStep.social, status.settings.concurrency, status.maxIterations], [0.55, 0.45, 3, done + 2]);

      const particles = await handle.query(particlesQuery);
      assert.equal(particles.iteration, done);
      assert.equal(particles.graph?.particles.length, 4);
      for (const p of particles.graph?.particles ?? []) {
        assert.equal(p.history.length, done + 1, 'utility at init and after every iteration');
        assert.ok(p.personalBestScore >= Math.max(...p.history) - 1e-12, 'p is the best the particle has seen');
        assert.ok(p.position.min <= p.position.mean && p.position.mean <= p.position.max);
      }
      assert.equal(particles.models, null, 'no weight swarm in a role-only study');

      await handle.signal(resumeSignal);
      const report = (await handle.result()) as SearchReport;
      assert.equal(report.stoppedBy, 'max-iterations');
      assert.equal(report.iterations, done + 2, 'the patched maxIterations ended the study');
      assert.ok(report.runs >= 2, 'the study continued as new after the patch');
      for (let t = 0; t <= done; t++) assert.equal((await roleStepConfig(study, t)).roleStep.inertia, 0.2, `iteration ${t} ran with the old inertia`);
      for (let t = done + 1; t <= done + 2; t++) {
        const config = await roleStepConfig(study, t);
        assert.deepEqual([config.roleStep.inertia, config.roleStep.social, config.concurrency], [0.55, 0.45, 3], `iteration ${t} ran with the patch (also after continue-as-new)`);
      }

      // The seed became the chosen particle's position (velocity 0) for the next iteration.
      const seededParticle = (await roleStepInput(study, done + 1)).swarm?.particles[seeded.particle];
      assert.deepEqual(seededParticle?.position, [[0, 1, 0], [0, 0, 1], [0, 0, 0]]);
      assert.deepEqual(seededParticle?.velocity, [[0, 0, 0], [0, 0, 0], [0, 0, 0]]);

      // The ten rejected updates left no trace in the history; the two accepted ones did.
      const events = (await env.client.workflow.getHandle(studyWorkflowId(study), pausedRun).fetchHistory()).events ?? [];
      const accepted = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      assert.equal(accepted.length, 2, 'only the valid patch and seed are in the history');
    });
  });
});
