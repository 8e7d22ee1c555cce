import assert from 'node:assert/strict';
import { decodeGraph } from '../../workflows/core/dag';
import { DecodedGraphSchema } from '../../workflows/core/evaluation';
import { deriveRng } from '../../workflows/core/rng';
import { EMPTY_COUNTERS, STATE_VERSION, SearchStateSchema, type SearchState } from '../../workflows/core/state';
import { advanceSwarm, createGraphSwarm, initialPositions, initialVelocities, recordScores, type SwarmSettings } from '../../workflows/core/swarm';

const SETTINGS: SwarmSettings = {
  coefficients: { inertia: 0.2, cognitive: 0.3, social: 0.4, repel: 0.05, repelEnabled: true, weightRandomness: true },
  stepLength: 0.8,
  stepLengthFactor: 1,
  minimumStepLength: 0.1,
  restartEnabled: true,
  restartPatience: 0.67,
  patience: 6,
};

/** A state as the search workflow would carry it after a few iterations of a real (small) swarm. */
function realState(): SearchState {
  const rng = deriveRng(42, 'init');
  const positions = initialPositions(4, 5, rng);
  let swarm = createGraphSwarm(positions, initialVelocities(positions, rng), [0.25, 0.5, 0.125, 0.5, 0.375]);
  const scores = deriveRng(42, 'scores');
  let iterationBest = 0;
  for (let t = 1; t <= 6; t++) {
    const advanced = advanceSwarm(swarm, SETTINGS, t, deriveRng(42, 'role', t));
    const recorded = recordScores(advanced, advanced.particles.map(() => scores.next()));
    swarm = recorded.swarm;
    iterationBest = recorded.iterationBest;
  }
  const matrix = swarm.particles[iterationBest]!.position;
  return {
    version: STATE_VERSION,
    iteration: 6,
    task: { sha256: 'a'.repeat(64), dev: 20, test: 10 },
    swarm,
    best: {
      devScore: swarm.globalBestScore,
      iteration: 6,
      particle: iterationBest,
      graph: decodeGraph(matrix, 0),
      assignment: [0, 1, 2, 3],
      matrix,
      transcriptKey: 'transcripts/abc',
      step: 'role',
    },
    summaries: [{ iteration: 1, bestScore: 0.5, meanScore: 0.3, globalBestScore: 0.5 }],
    counters: { ...EMPTY_COUNTERS, calls: 120, cacheHits: 40, evaluations: 35 },
    paused: false,
    stopRequested: false,
    runs: 1,
  };
}

describe('core/state', () => {
  it('a state from a real swarm survives JSON.stringify → JSON.parse → SearchStateSchema.parse exactly', () => {
    const state = realState();
    assert.ok(state.swarm.particles.every((p) => p.history.length === 7), 'initial + 6 iterations of history');
    const round = SearchStateSchema.parse(JSON.parse(JSON.stringify(state)));
    assert.deepEqual(round, state);
    // Bit-exact numbers, including the unrounded PSO positions.
    assert.equal(round.swarm.particles[0]!.position[0]![1], state.swarm.particles[0]!.position[0]![1]);
    assert.equal(JSON.stringify(round), JSON.stringify(state));
  });

  it('the decoded best graph satisfies DecodedGraphSchema', () => {
    const state = realState();
    assert.deepEqual(DecodedGraphSchema.parse(state.best.graph), state.best.graph);
  });

  it('rejects a wrong version', () => {
    const state = realState();
    assert.throws(() => SearchStateSchema.parse({ ...state, version: STATE_VERSION + 1 }));
    assert.throws(() => SearchStateSchema.parse({ ...state, version: '1' }));
    const { version: _version, ...withoutVersion } = state;
    assert.throws(() => SearchStateSchema.parse(withoutVersion));
  });

  it('rejects unknown fields and malformed swarms', () => {
    const state = realState();
    assert.throws(() => SearchStateSchema.parse({ ...state, extra: 1 }));
    assert.throws(() => SearchStateSchema.parse({ ...state, swarm: { ...state.swarm, particles: [] } }));
    const particle = state.swarm.particles[0]!;
    assert.throws(() => SearchStateSchema.parse({ ...state, swarm: { ...state.swarm, particles: [{ ...particle, restartCooldown: -1 }] } }));
    assert.throws(() => SearchStateSchema.parse({ ...state, swarm: { ...state.swarm, particles: [{ ...particle, position: [[0, 'x']] }] } }));
    // NaN / Infinity do not survive JSON (they become null) and must not parse.
    assert.throws(() => SearchStateSchema.parse(JSON.parse(JSON.stringify({ ...state, swarm: { ...state.swarm, globalBestScore: Number.NaN } }))));
  });
});
