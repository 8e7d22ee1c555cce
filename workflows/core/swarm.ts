/**
 * The graph swarm of the role step (paper-notes §1.1-1.2, §5): initialisation, PSO advance with stray
 * restarts, and the bookkeeping of personal best, global best and global worst snapshots. Pure and
 * JSON-plain; all randomness comes from the Rng passed in.
 */
import type { Matrix } from './dag';
import { drawFactors, psoStep, psoWeights, restartDecision, stepLengthAt, type PsoCoefficients, type PsoWeights } from './pso';
import type { Rng } from './rng';

/**
 * One particle of a swarm over positions of type `P`: adjacency matrices in the role step, blob keys of LoRA
 * adapters in the weight step (paper-notes §0: every particle keeps x, p, v; the swarm keeps g and g_w).
 */
export interface Particle<P> {
  /** x: the current position. */
  position: P;
  /** v */
  velocity: P;
  /** p: best position this particle has visited. */
  personalBest: P;
  personalBestScore: number;
  /** Utilities of this particle: initial value + one per iteration (drives restarts). */
  history: number[];
  /** Stray-restart cool-down (`graph_no_restart_count` / `model_no_restart_count`). */
  restartCooldown: number;
}

export interface Swarm<P> {
  particles: Particle<P>[];
  /** g: best-ever snapshot, and its utility. */
  globalBest: P;
  globalBestScore: number;
  /** g's utility after init and after every iteration (non-decreasing; the graph side drives patience). */
  globalBestHistory: number[];
  /** g_w: worst-ever snapshot, and its utility. */
  globalWorst: P;
  globalWorstScore: number;
}

export type GraphParticle = Particle<Matrix>;
export type GraphSwarm = Swarm<Matrix>;

export interface SwarmSettings {
  coefficients: PsoCoefficients;
  stepLength: number;
  stepLengthFactor: number;
  minimumStepLength: number;
  restartEnabled: boolean;
  restartPatience: number;
  patience: number;
}

const copy = (m: Matrix): Matrix => m.map((row) => row.slice());
const flatten = (m: Matrix): number[] => m.flat();
function unflatten(values: readonly number[], n: number): Matrix {
  return Array.from({ length: n }, (_, i) => values.slice(i * n, (i + 1) * n));
}

/** A_k ~ U[0,1)^{N×N} with zero diagonal, drawn row-major, particle by particle (`search.py` L125-129). */
export function initialPositions(n: number, particles: number, rng: Rng): Matrix[] {
  return Array.from({ length: particles }, () =>
    Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : rng.next()))),
  );
}

/** Starting velocity V_k = A_j − A_k for a uniformly random j ≠ k (`search.py` L136-144). */
export function initialVelocities(positions: readonly Matrix[], rng: Rng): Matrix[] {
  const g = positions.length;
  return positions.map((a, k) => {
    let j = rng.int(g - 1);
    if (j >= k) j++;
    const other = positions[j]!;
    return a.map((row, r) => row.map((x, c) => other[r]![c]! - x));
  });
}

export const argmax = (xs: readonly number[]): number => xs.reduce((best, x, i) => (x > xs[best]! ? i : best), 0);
export const argmin = (xs: readonly number[]): number => xs.reduce((best, x, i) => (x < xs[best]! ? i : best), 0);

/**
 * The swarm after the initial evaluation (`search.py` L149-198 / L206-225): p = x, g = argmax, g_w = argmin
 * (first wins ties). `copy` snapshots a position (identity for immutable ones such as blob keys).
 */
export function createSwarm<P>(positions: readonly P[], velocities: readonly P[], scores: readonly number[], copy: (p: P) => P): Swarm<P> {
  if (positions.length !== scores.length || velocities.length !== scores.length) {
    throw new RangeError(`createSwarm: ${positions.length} positions, ${velocities.length} velocities, ${scores.length} scores`);
  }
  const best = argmax(scores);
  const worst = argmin(scores);
  return {
    particles: positions.map((position, k) => ({
      position: copy(position),
      velocity: copy(velocities[k]!),
      personalBest: copy(position),
      personalBestScore: scores[k]!,
      history: [scores[k]!],
      restartCooldown: 0,
    })),
    globalBest: copy(positions[best]!),
    globalBestScore: scores[best]!,
    globalBestHistory: [scores[best]!],
    globalWorst: copy(positions[worst]!),
    globalWorstScore: scores[worst]!,
  };
}

export function createGraphSwarm(positions: readonly Matrix[], velocities: readonly Matrix[], scores: readonly number[]): GraphSwarm {
  return createSwarm(positions, velocities, scores, copy);
}

/** What one particle does this iteration: whether it restarts from its personal best, and its PSO weights. */
export interface ParticleStepPlan {
  /** Stray restart (§5.3): x ← p and v ← 0 before the update. */
  restart: boolean;
  /** The particle's new restart cool-down. */
  restartCooldown: number;
  /** Normalised (w_v, w_p, w_g, w_w) of this step. */
  weights: PsoWeights;
}

/**
 * Steps 1a / 2a for one particle: the optional restart test and the PSO weights, drawing exactly 4 numbers
 * (the same for graph and model particles; the weight step applies the plan tensor-wise in an activity).
 */
export function planParticleStep<P>(particle: Particle<P>, settings: SwarmSettings, rng: Rng): ParticleStepPlan {
  let restart = false;
  let restartCooldown = particle.restartCooldown;
  if (settings.restartEnabled) {
    const decision = restartDecision(particle.history, particle.personalBestScore, restartCooldown, settings.restartPatience, settings.patience);
    restart = decision.restart;
    restartCooldown = decision.cooldown;
  }
  return { restart, restartCooldown, weights: psoWeights(settings.coefficients, drawFactors(rng, settings.coefficients)) };
}

/** λ at a 1-based iteration under the settings' (optional) step-length decay. */
export function stepLengthOf(settings: SwarmSettings, iteration: number): number {
  return stepLengthAt(settings.stepLength, settings.stepLengthFactor, settings.minimumStepLength, iteration);
}

/**
 * Role step 1a: for every particle in order, the optional restart (x ← p, v ← 0, §5.3) and then the PSO
 * update (§5.1) against the g / g_w snapshots of the previous evaluation. Returns a new swarm.
 * Draws exactly 4 numbers per particle.
 */
export function advanceSwarm(swarm: GraphSwarm, settings: SwarmSettings, iteration: number, rng: Rng): GraphSwarm {
  const lambda = stepLengthOf(settings, iteration);
  const particles = swarm.particles.map((particle) => {
    const n = particle.position.length;
    const plan = planParticleStep(particle, settings, rng);
    const position = plan.restart ? particle.personalBest : particle.position;
    const velocity = plan.restart ? position.map((row) => row.map(() => 0)) : particle.velocity;
    const next = psoStep(
      {
        position: flatten(position),
        velocity: flatten(velocity),
        personalBest: flatten(particle.personalBest),
        globalBest: flatten(swarm.globalBest),
        globalWorst: flatten(swarm.globalWorst),
      },
      plan.weights,
      lambda,
    );
    return {
      ...particle,
      position: unflatten(next.position, n),
      velocity: unflatten(next.velocity, n),
      personalBest: copy(particle.personalBest),
      history: particle.history.slice(),
      restartCooldown: plan.restartCooldown,
    };
  });
  return { ...swarm, particles };
}

/**
 * Step 1d-1e / 2d: record this iteration's utilities. p_k ← x_k if strictly better; g ← x_{k*} if this
 * iteration's best is strictly better than g; g_w ← x_{k_min} if strictly worse. Returns the new swarm and
 * k*, the best particle of THIS iteration (for graphs: the one the weight step measures JFK-scores on, §10.6).
 */
export function recordSwarmScores<P>(swarm: Swarm<P>, scores: readonly number[], copy: (p: P) => P): { swarm: Swarm<P>; iterationBest: number } {
  if (scores.length !== swarm.particles.length) throw new RangeError(`recordScores: ${scores.length} scores for ${swarm.particles.length} particles`);
  const particles = swarm.particles.map((particle, k) => {
    const score = scores[k]!;
    const improved = score > particle.personalBestScore;
    return {
      ...particle,
      personalBest: improved ? copy(particle.position) : particle.personalBest,
      personalBestScore: improved ? score : particle.personalBestScore,
      history: [...particle.history, score],
    };
  });
  const best = argmax(scores);
  const worst = argmin(scores);
  const newBest = scores[best]! > swarm.globalBestScore;
  const newWorst = scores[worst]! < swarm.globalWorstScore;
  const globalBestScore = newBest ? scores[best]! : swarm.globalBestScore;
  return {
    iterationBest: best,
    swarm: {
      particles,
      globalBest: newBest ? copy(swarm.particles[best]!.position) : swarm.globalBest,
      globalBestScore,
      globalBestHistory: [...swarm.globalBestHistory, globalBestScore],
      globalWorst: newWorst ? copy(swarm.particles[worst]!.position) : swarm.globalWorst,
      globalWorstScore: newWorst ? scores[worst]! : swarm.globalWorstScore,
    },
  };
}

/** Role step 1d-1e on the graph swarm. */
export function recordScores(swarm: GraphSwarm, scores: readonly number[]): { swarm: GraphSwarm; iterationBest: number } {
  return recordSwarmScores(swarm, scores, copy);
}

/**
 * Patience (`search.py` L524-534), tested before each iteration: stop when the global-best history has more
 * than `patience` entries and its last `patience` entries are all equal.
 */
export function patienceExhausted(globalBestHistory: readonly number[], patience: number): boolean {
  if (globalBestHistory.length <= patience) return false;
  const tail = globalBestHistory.slice(-patience);
  return tail.every((x) => x === tail[0]);
}
