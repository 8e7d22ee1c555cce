import assert from 'node:assert/strict';
import { applySettingsPatch, liveSettings, type PatchOutcome } from '../../workflows/core/control';
import { parseSearchConfig, type SearchConfig } from '../../workflows/core/config';
import { particlesView } from '../../workflows/core/particles';
import { edgesFromText, patchFromAssignments } from '../../scripts/commands/control';

function config(extra: Record<string, unknown> = {}): SearchConfig {
  const result = parseSearchConfig({
    study: 'control',
    models: [
      { id: 'a', baseURL: 'http://127.0.0.1:8080/v1', model: 'm-a' },
      { id: 'b', baseURL: 'http://127.0.0.1:8080/v1', model: 'm-b' },
    ],
    task: { path: 'data/x.jsonl', type: 'multiple_choice' },
    ...extra,
  });
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.config;
}

const applied = (outcome: PatchOutcome): SearchConfig => {
  if (!outcome.ok) assert.fail(`expected the patch to apply, got ${JSON.stringify(outcome.problems)}`);
  return outcome.config;
};
const rejected = (outcome: PatchOutcome): string[] => {
  if (outcome.ok) assert.fail('expected the patch to be rejected');
  return outcome.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('live control: settings patches', () => {
  it('changes exactly the named settings and keeps everything else', () => {
    const before = config();
    const after = applied(applySettingsPatch(before, { roleStep: { inertia: 0.5, stepLength: 0.6 }, patience: 9, maxIterations: 30, concurrency: 8 }, 3));
    assert.deepEqual(after, { ...before, roleStep: { ...before.roleStep, inertia: 0.5, stepLength: 0.6 }, patience: 9, maxIterations: 30, concurrency: 8 });
  });

  it('a weight-step PSO patch starts from the role step’s coefficients when the config had none', () => {
    const before = config({ roleStep: { social: 0.6 } });
    const after = applied(applySettingsPatch(before, { weightStep: { pso: { repel: 0.1 } } }, 0));
    assert.deepEqual(after.weightStep.pso, { ...liveSettings(before).roleStep, repel: 0.1 });
    assert.equal(after.roleStep.repel, before.roleStep.repel, 'the role step keeps its own');
    const again = applied(applySettingsPatch(after, { weightStep: { assignments: 4 } }, 0));
    assert.deepEqual(again.weightStep, { ...after.weightStep, assignments: 4 });
  });

  it('rejects bad patches with the field path: types, ranges, unknown and identity fields, empty', () => {
    const c = config();
    assert.match(rejected(applySettingsPatch(c, { roleStep: { inertia: -1 } }, 0))[0]!, /^roleStep\.inertia: /);
    assert.match(rejected(applySettingsPatch(c, { roleStep: { inertia: 'high' } }, 0))[0]!, /^roleStep\.inertia: /);
    assert.match(rejected(applySettingsPatch(c, { patience: 0 }, 0))[0]!, /^patience: /);
    assert.match(rejected(applySettingsPatch(c, { concurrency: 1.5 }, 0))[0]!, /^concurrency: /);
    assert.match(rejected(applySettingsPatch(c, { roleStep: { particles: 20 } }, 0))[0]!, /roleStep/);
    assert.match(rejected(applySettingsPatch(c, { seed: 1 }, 0))[0]!, /seed|unrecognized|unknown/i);
    assert.match(rejected(applySettingsPatch(c, { models: [] }, 0))[0]!, /models|unrecognized|unknown/i);
    assert.match(rejected(applySettingsPatch(c, {}, 0))[0]!, /empty patch/);
    assert.match(rejected(applySettingsPatch(c, null, 0))[0]!, /^\(root\): /);
    assert.match(rejected(applySettingsPatch(c, { roleStep: { inertia: Number.NaN } }, 0))[0]!, /^roleStep\.inertia: /);
  });

  it('applies the config’s cross-field rules to the patched whole', () => {
    const c = config({ roleStep: { inertia: 0, cognitive: 0, social: 0.1, repel: 0 } });
    const problems = rejected(applySettingsPatch(c, { roleStep: { social: 0 } }, 0));
    assert.match(problems[0]!, /^roleStep: inertia \+ cognitive \+ social/);
  });

  it('max iterations may not go below the iterations already done', () => {
    const c = config();
    assert.match(rejected(applySettingsPatch(c, { maxIterations: 2 }, 5))[0]!, /^maxIterations: iteration 5 is already done/);
    assert.equal(applied(applySettingsPatch(c, { maxIterations: 5 }, 5)).maxIterations, 5);
  });

  it('a parsed (and patched) config parses to itself, so continue-as-new can carry it as the input', () => {
    const c = applied(applySettingsPatch(config({ weightStep: { assignments: 3 } }), { weightStep: { pso: { inertia: 0.1 } }, patience: 4 }, 0));
    const again = parseSearchConfig(c);
    assert.ok(again.ok);
    assert.deepEqual(again.config, c);
  });
});

describe('live control: particles view', () => {
  it('summarises graph particles: mean/min/max of x, ‖v‖, ‖x − p‖, history', () => {
    const swarm = {
      particles: [
        { position: [[0, 0.5], [1, 0.5]], velocity: [[0.3, 0], [0, 0.4]], personalBest: [[0, 0.5], [1, 0.5]], personalBestScore: 0.75, history: [0.5, 0.75], restartCooldown: 0 },
        { position: [[0.2, 0.2], [0.2, 0.2]], velocity: [[0, 0], [0, 0]], personalBest: [[0.2, 0.2], [0.2, 0.6]], personalBestScore: 0.5, history: [0.5, 0.25], restartCooldown: 2 },
      ],
      globalBest: [[0, 0.5], [1, 0.5]],
      globalBestScore: 0.75,
      globalBestHistory: [0.5, 0.75],
      globalWorst: [[0.2, 0.2], [0.2, 0.2]],
      globalWorstScore: 0.25,
    };
    const view = particlesView({ iteration: 1, swarm }, (i) => `m${i}`);
    assert.equal(view.iteration, 1);
    assert.deepEqual(view.graph?.particles.map((p) => [p.position, p.velocityNorm, p.restartCooldown]), [
      [{ mean: 0.5, min: 0, max: 1 }, 0.5, 0],
      [{ mean: 0.2, min: 0.2, max: 0.2 }, 0, 2],
    ]);
    assert.deepEqual(view.graph?.particles.map((p) => Math.round(p.distanceToPersonalBest * 1e12) / 1e12), [0, 0.4]);
    assert.deepEqual([view.graph?.globalBestScore, view.graph?.globalWorstScore, view.models], [0.75, 0.25, null]);
    assert.deepEqual(particlesView(undefined, String), { iteration: null, graph: null, models: null });
  });
});

describe('hs configure: --set PATH=VALUE', () => {
  it('builds a nested patch; values are JSON when they parse, strings otherwise', () => {
    assert.deepEqual(patchFromAssignments(['roleStep.inertia=0.3', 'roleStep.repelEnabled=false', 'patience=10', 'weightStep.pso.social=0.5']), {
      ok: true,
      patch: { roleStep: { inertia: 0.3, repelEnabled: false }, patience: 10, weightStep: { pso: { social: 0.5 } } },
    });
    assert.deepEqual(patchFromAssignments(['roleStep.inertia=high']), { ok: true, patch: { roleStep: { inertia: 'high' } } });
  });

  it('rejects malformed assignments and prototype keys', () => {
    for (const bad of ['inertia', '=3', 'roleStep..inertia=1', '__proto__.x=1', 'a.constructor=1']) {
      assert.equal(patchFromAssignments([bad]).ok, false, bad);
    }
    assert.equal(patchFromAssignments(['patience=3', 'patience.x=1']).ok, false, 'a value cannot become an object');
  });

  it('hs seed --edges: "a>b,b>c" → edge pairs; malformed → undefined', () => {
    assert.deepEqual(edgesFromText('a>b, b > c'), [['a', 'b'], ['b', 'c']]);
    for (const bad of ['a', 'a>', '>b', 'a>b>c', 'a>b,,']) assert.equal(edgesFromText(bad), undefined, bad);
  });
});
