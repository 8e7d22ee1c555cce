/**
 * The model swarm of the weight step (paper-notes §1.1 step 2, §1.2 step 2, §7): every model with a LoRA
 * adapter is a particle whose position is the adapter's tensors. Positions, velocities and the p / g / g_w
 * snapshots are blob-store keys (content-addressed and immutable, so a snapshot is the key itself); the
 * tensors themselves are combined by the `updateAdapter` activity with the same `psoStepInto` as the role step.
 *
 * Generalisation of the paper (which has one pool of LoRA experts of one base model): models that share a base
 * form one swarm, a pool that mixes bases runs one swarm per base, and models without an adapter stay fixed —
 * they still fill graph slots and still get JFK-scores, they just do not move.
 */
import type { ModelSpec } from './config';
import type { PsoWeights } from './pso';
import type { Rng } from './rng';
import { createSwarm, planParticleStep, recordSwarmScores, stepLengthOf, type Swarm, type SwarmSettings } from './swarm';

/** A weight swarm: one per base model; `models[i]` is the pool index of particle i. */
export interface WeightSwarm extends Swarm<string> {
  base: string;
  models: number[];
}

/** The pool indices of the models with an adapter, grouped by base (groups in order of first appearance). */
export function weightGroups(models: readonly Pick<ModelSpec, 'adapter'>[]): { base: string; models: number[] }[] {
  const groups = new Map<string, number[]>();
  models.forEach((m, i) => {
    if (m.adapter === undefined) return;
    const group = groups.get(m.adapter.base) ?? [];
    group.push(i);
    groups.set(m.adapter.base, group);
  });
  return [...groups].map(([base, members]) => ({ base, models: members }));
}

/**
 * The partner of every particle for its starting velocity v_i = x_j − x_i, j uniform among the other members
 * of its group (`search.py` L109-120); `null` (v = 0) for a model alone in its group. Indexed like `group`.
 */
export function velocityPartners(group: readonly number[], rng: Rng): (number | null)[] {
  return group.map((_, i) => {
    if (group.length < 2) return null;
    let j = rng.int(group.length - 1);
    if (j >= i) j++;
    return group[j]!;
  });
}

/** Where the model with pool index `model` is a particle: its swarm and its index there (undefined: nowhere). */
export function particleOfModel(swarms: readonly Pick<WeightSwarm, 'models'>[], model: number): { swarm: number; particle: number } | undefined {
  for (let swarm = 0; swarm < swarms.length; swarm++) {
    const particle = swarms[swarm]!.models.indexOf(model);
    if (particle >= 0) return { swarm, particle };
  }
  return undefined;
}

/** The PSO step of one model particle, for the `updateAdapter` activity. */
export interface WeightUpdatePlan {
  /** Pool index of the model. */
  model: number;
  restart: boolean;
  restartCooldown: number;
  weights: PsoWeights;
  stepLength: number;
  /** Keys of x (p after a restart), v (`null` = zero, after a restart), p, g, g_w. */
  position: string;
  velocity: string | null;
  personalBest: string;
  globalBest: string;
  globalWorst: string;
}

/** Step 2a: restart tests and PSO weights for every particle of the swarm, in order (4 draws each). */
export function planWeightUpdates(swarm: WeightSwarm, settings: SwarmSettings, iteration: number, rng: Rng): WeightUpdatePlan[] {
  const stepLength = stepLengthOf(settings, iteration);
  return swarm.particles.map((particle, i) => {
    const plan = planParticleStep(particle, settings, rng);
    return {
      model: swarm.models[i]!,
      restart: plan.restart,
      restartCooldown: plan.restartCooldown,
      weights: plan.weights,
      stepLength,
      position: plan.restart ? particle.personalBest : particle.position,
      velocity: plan.restart ? null : particle.velocity,
      personalBest: particle.personalBest,
      globalBest: swarm.globalBest,
      globalWorst: swarm.globalWorst,
    };
  });
}

/** The swarm after the update activities: new x and v keys, the plans' cool-downs. */
export function applyWeightUpdates(swarm: WeightSwarm, plans: readonly WeightUpdatePlan[], moved: readonly { position: string; velocity: string }[]): WeightSwarm {
  if (plans.length !== swarm.particles.length || moved.length !== swarm.particles.length) {
    throw new RangeError(`applyWeightUpdates: ${plans.length} plans and ${moved.length} results for ${swarm.particles.length} particles`);
  }
  return {
    ...swarm,
    particles: swarm.particles.map((particle, i) => ({
      ...particle,
      position: moved[i]!.position,
      velocity: moved[i]!.velocity,
      history: particle.history.slice(),
      restartCooldown: plans[i]!.restartCooldown,
    })),
  };
}

const same = (key: string): string => key;

/** The scores of the swarm's models, from scores indexed by pool index; every one must be a finite number. */
function scoresOf(models: readonly number[], scores: readonly number[]): number[] {
  return models.map((m) => {
    const score = scores[m];
    if (score === undefined || !Number.isFinite(score)) throw new RangeError(`no finite score for model #${m} (got ${String(score)} from ${scores.length} scores)`);
    return score;
  });
}

/** Step 2d: record the JFK-scores (`scores[m]` for pool index m) in the swarm. */
export function recordWeightScores(swarm: WeightSwarm, scores: readonly number[]): WeightSwarm {
  const recorded = recordSwarmScores(swarm, scoresOf(swarm.models, scores), same);
  return { ...recorded.swarm, base: swarm.base, models: swarm.models.slice() };
}

/** Initialisation (§1.1 step 6): the swarm of a group from its positions, velocities and initial JFK-scores. */
export function createWeightSwarm(base: string, models: readonly number[], positions: readonly string[], velocities: readonly string[], scores: readonly number[]): WeightSwarm {
  const created = createSwarm(positions, velocities, scoresOf(models, scores), same);
  return { ...created, base, models: models.slice() };
}

/** The pool as evaluated now: each model with a published adapter version is requested under that version's
 * name, and its sha256 keys the call cache. `versions[i]` null or absent: the config's model as it is. */
export function modelsAt<M extends Pick<ModelSpec, 'model' | 'adapterSha256'>>(models: readonly M[], versions: readonly ({ served: string; sha256: string } | null)[] | undefined): M[] {
  return models.map((m, i) => {
    const v = versions?.[i];
    return v ? { ...m, model: v.served, adapterSha256: v.sha256 } : m;
  });
}
