import assert from 'node:assert/strict';
import { parseSearchConfig } from '../../workflows/core/config';
import { createRng } from '../../workflows/core/rng';
import { estimatedSwarmBytes, jsonBytes, PAYLOAD_BUDGET_BYTES, payloadProblem } from '../../workflows/core/payload';
import { createGraphSwarm, initialPositions, initialVelocities } from '../../workflows/core/swarm';

const config = (models: number, particles: number, task: Record<string, unknown> = {}) => ({
  study: 'payload',
  models: Array.from({ length: models }, (_, i) => ({ id: `m${i}`, baseURL: 'http://127.0.0.1:8080/v1', model: `m${i}` })),
  task: { path: 'data.jsonl', type: 'multiple_choice', ...task },
  roleStep: { particles },
});

describe('core/payload', () => {
  it('jsonBytes is the UTF-8 length of the JSON text', () => {
    for (const value of [{ a: 1 }, 'é', '€', '😀', ['x', { y: 'ü😀€' }], null]) {
      assert.equal(jsonBytes(value), Buffer.byteLength(JSON.stringify(value), 'utf8'), JSON.stringify(value));
    }
  });

  it('estimatedSwarmBytes bounds the real JSON of a freshly drawn swarm', () => {
    for (const [n, g] of [[3, 4], [10, 10], [20, 30]] as const) {
      const rng = createRng(n * 100 + g);
      const positions = initialPositions(n, g, rng);
      const swarm = createGraphSwarm(positions, initialVelocities(positions, rng), positions.map(() => 0.5));
      const actual = jsonBytes(swarm);
      const estimate = estimatedSwarmBytes(n, g);
      assert.ok(actual <= estimate && actual > estimate / 3, `N=${n}, G=${g}: ${actual} B vs estimate ${estimate} B`);
    }
  });

  it("the paper's setting fits; a swarm that cannot fit a workflow payload is rejected at validation", () => {
    assert.ok(parseSearchConfig(config(10, 10)).ok, 'N = G = 10 (the paper) fits');
    const result = parseSearchConfig(config(64, 10));
    assert.ok(!result.ok);
    const problem = result.problems.find((p) => p.path === 'roleStep.particles');
    assert.match(problem?.message ?? '', /10 graph particles over 64 models .* KiB, above the 512 KiB workflow payload budget/);
  });

  it('huge prompt text in the config is rejected at its path', () => {
    const result = parseSearchConfig(config(3, 4, { instruction: 'x'.repeat(10_001), promptSuffix: 'y'.repeat(20_000) }));
    assert.ok(!result.ok);
    assert.deepEqual(result.problems.map((p) => p.path).sort(), ['task.instruction', 'task.promptSuffix']);
  });

  it('payloadProblem names the hand-over and both sizes only when the budget is exceeded', () => {
    assert.equal(payloadProblem('small', { a: 'x'.repeat(1000) }), undefined);
    const big = { a: 'x'.repeat(PAYLOAD_BUDGET_BYTES) };
    assert.match(payloadProblem('the input of hs/s/role-3', big) ?? '', /^the input of hs\/s\/role-3 is 512 KiB, above the 512 KiB payload budget/);
  });
});
