/**
 * The `particles` query's view of both swarms: per graph particle a summary of its position (the full N×N
 * matrices stay in the state), its personal best and its utility history; per model particle its adapter
 * blobs, personal best and history. Pure.
 */
import type { Matrix } from './dag';
import type { GraphSwarm } from './swarm';
import type { WeightState } from './state';

export interface GraphParticleView {
  particle: number;
  /** x summarised: mean, min and max adjacency weight. */
  position: { mean: number; min: number; max: number };
  /** ‖v‖ (Frobenius norm). */
  velocityNorm: number;
  /** ‖x − p‖: how far the particle is from its personal best. */
  distanceToPersonalBest: number;
  personalBestScore: number;
  /** Utility at initialisation and after every iteration. */
  history: number[];
  restartCooldown: number;
}

export interface ModelParticleView {
  model: string;
  /** The weight swarm (base model) it belongs to. */
  base: string;
  /** Blob keys of x, v and p (`hs transcript`-style keys into the blob store). */
  position: string;
  velocity: string;
  personalBest: string;
  personalBestScore: number;
  /** JFK-score at initialisation and after every iteration. */
  history: number[];
  restartCooldown: number;
}

export interface ParticlesView {
  /** Iterations finished (0 = initialisation); null before the first one. */
  iteration: number | null;
  graph: { particles: GraphParticleView[]; globalBestScore: number; globalWorstScore: number } | null;
  models: ModelParticleView[] | null;
}

const cells = (m: Matrix): number[] => m.flat();
const norm = (values: readonly number[]): number => Math.sqrt(values.reduce((s, v) => s + v * v, 0));

export function graphParticleViews(swarm: GraphSwarm): GraphParticleView[] {
  return swarm.particles.map((p, particle) => {
    const x = cells(p.position);
    const best = cells(p.personalBest);
    return {
      particle,
      position: { mean: x.reduce((s, v) => s + v, 0) / Math.max(1, x.length), min: Math.min(...x), max: Math.max(...x) },
      velocityNorm: norm(cells(p.velocity)),
      distanceToPersonalBest: norm(x.map((v, i) => v - (best[i] ?? 0))),
      personalBestScore: p.personalBestScore,
      history: p.history,
      restartCooldown: p.restartCooldown,
    };
  });
}

export function modelParticleViews(weights: WeightState, modelId: (index: number) => string): ModelParticleView[] {
  return weights.swarms.flatMap((swarm) =>
    swarm.particles.map((p, i) => ({
      model: modelId(swarm.models[i] ?? -1),
      base: swarm.base,
      position: p.position,
      velocity: p.velocity,
      personalBest: p.personalBest,
      personalBestScore: p.personalBestScore,
      history: p.history,
      restartCooldown: p.restartCooldown,
    })),
  );
}

export function particlesView(state: { iteration: number; swarm: GraphSwarm; weights?: WeightState | undefined } | undefined, modelId: (index: number) => string): ParticlesView {
  if (state === undefined) return { iteration: null, graph: null, models: null };
  return {
    iteration: state.iteration,
    graph: { particles: graphParticleViews(state.swarm), globalBestScore: state.swarm.globalBestScore, globalWorstScore: state.swarm.globalWorstScore },
    models: state.weights === undefined || state.weights.swarms.length === 0 ? null : modelParticleViews(state.weights, modelId),
  };
}
