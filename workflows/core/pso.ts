/**
 * Particle swarm optimisation update, identical for the role step (adjacency matrices) and the weight step
 * (LoRA tensors): paper-notes §5.1, official code `search.py::graph_update` / `model_update`.
 *
 *   w_v = r_v·φ_v, w_p = r_p·φ_p, w_g = r_g·φ_g, w_w = r_w·φ_w   (w_w = 0 without the repel term)
 *   C   = w_v + w_p + w_g + w_w
 *   v  ← (w_v·v + w_p·(p − x) + w_g·(g − x) + w_w·(x − g_w)) / C
 *   x  ← x + λ·v
 *
 * r_* are four scalars per particle per step (not per coordinate), U(0,1) when `weightRandomness` is on,
 * all 1 otherwise. Velocity uses the old x; the position moves with the new v. No clamping, no clipping.
 */
import type { Rng } from './rng';

export interface PsoCoefficients {
  /** φ_v, `--inertia`. */
  inertia: number;
  /** φ_p, `--cognitive_coeff`. */
  cognitive: number;
  /** φ_g, `--social_coeff`. */
  social: number;
  /** φ_w, `--repel_coeff`. */
  repel: number;
  /** `--repel_term`: when false the global-worst term is dropped (w_w = 0). */
  repelEnabled: boolean;
  /** `--weight_randomness`: when false every r is 1. */
  weightRandomness: boolean;
}

/** The four normalised weights (w_v, w_p, w_g, w_w) / C of one particle's step. */
export interface PsoWeights {
  inertia: number;
  cognitive: number;
  social: number;
  repel: number;
}

/** The random factors r_v, r_p, r_g, r_w of one particle's step. */
export interface PsoFactors {
  rV: number;
  rP: number;
  rG: number;
  rW: number;
}

/** Draws r_v, r_p, r_g, r_w in that order (4 draws, always, so the stream does not depend on flags). */
export function drawFactors(rng: Rng, coefficients: PsoCoefficients): PsoFactors {
  const r = [rng.next(), rng.next(), rng.next(), rng.next()] as const;
  if (!coefficients.weightRandomness) return { rV: 1, rP: 1, rG: 1, rW: 1 };
  return { rV: r[0], rP: r[1], rG: r[2], rW: r[3] };
}

/** w = (r_v φ_v, r_p φ_p, r_g φ_g, r_w φ_w) / C with C their sum. */
export function psoWeights(coefficients: PsoCoefficients, factors: PsoFactors): PsoWeights {
  const wV = factors.rV * coefficients.inertia;
  const wP = factors.rP * coefficients.cognitive;
  const wG = factors.rG * coefficients.social;
  const wW = coefficients.repelEnabled ? factors.rW * coefficients.repel : 0;
  const c = wV + wP + wG + wW;
  if (!(c > 0)) {
    throw new RangeError(`PSO normalisation C must be > 0 (got ${c}); check the PSO coefficients`);
  }
  return { inertia: wV / c, cognitive: wP / c, social: wG / c, repel: wW / c };
}

/** Anything indexable by position: number[] for graphs, Float32Array for LoRA tensors. */
export type Vector = ArrayLike<number>;
export type MutableVector = { length: number; [index: number]: number };

export interface PsoOperands {
  position: Vector;
  velocity: Vector;
  personalBest: Vector;
  globalBest: Vector;
  globalWorst: Vector;
}

/**
 * One PSO step on a flat vector, written into `outPosition` / `outVelocity` (which may alias the inputs
 * `position` / `velocity`: every coordinate is read before it is written). Returns nothing; pure otherwise.
 */
export function psoStepInto(
  operands: PsoOperands,
  weights: PsoWeights,
  stepLength: number,
  outPosition: MutableVector,
  outVelocity: MutableVector,
): void {
  const { position: x, velocity: v, personalBest: p, globalBest: g, globalWorst: gw } = operands;
  const n = x.length;
  for (const [name, vec] of [['velocity', v], ['personalBest', p], ['globalBest', g], ['globalWorst', gw], ['outPosition', outPosition], ['outVelocity', outVelocity]] as const) {
    if (vec.length !== n) throw new RangeError(`PSO operand ${name} has length ${vec.length}, expected ${n}`);
  }
  const { inertia: wV, cognitive: wP, social: wG, repel: wW } = weights;
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    const vi = wV * v[i]! + wP * (p[i]! - xi) + wG * (g[i]! - xi) + wW * (xi - gw[i]!);
    outVelocity[i] = vi;
    outPosition[i] = xi + stepLength * vi;
  }
}

/** One PSO step returning fresh arrays (inputs untouched). */
export function psoStep(operands: PsoOperands, weights: PsoWeights, stepLength: number): { position: number[]; velocity: number[] } {
  const position = new Array<number>(operands.position.length);
  const velocity = new Array<number>(operands.position.length);
  psoStepInto(operands, weights, stepLength, position, velocity);
  return { position, velocity };
}

/**
 * Step length at a 1-based iteration: λ·factor^(t−1), floored at `minimum`.
 * The official code parses `--step_length_factor` / `--minimum_step_length` but never applies them
 * (paper-notes §10.4); with the default factor 1 this returns λ unchanged, i.e. the paper's behaviour.
 */
export function stepLengthAt(stepLength: number, factor: number, minimum: number, iteration: number): number {
  if (factor === 1) return stepLength;
  return Math.max(stepLength * Math.pow(factor, Math.max(0, iteration - 1)), minimum);
}

/**
 * Stray-particle restart test (paper-notes §5.3). `history` = the particle's utilities (initial value + one
 * per iteration), `personalBestScore` its best. With t0 the first index of the best in the history, the
 * particle restarts when len(history) − t0 ≥ restartPatience·patience and its cool-down is 0; the cool-down is
 * then set to ⌊restartPatience·patience⌋, otherwise it decreases by one (never below 0).
 */
export function restartDecision(
  history: readonly number[],
  personalBestScore: number,
  cooldown: number,
  restartPatience: number,
  patience: number,
): { restart: boolean; cooldown: number } {
  const firstBest = history.indexOf(personalBestScore);
  const stale = firstBest >= 0 && history.length - firstBest >= restartPatience * patience;
  if (stale && cooldown === 0) return { restart: true, cooldown: Math.floor(restartPatience * patience) };
  return { restart: false, cooldown: Math.max(0, cooldown - 1) };
}
