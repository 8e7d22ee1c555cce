/**
 * JFK-score, the utility of the weight step (paper-notes §6, `search.py::node_evaluate`): "ask not what the
 * multi-LLM system can do for you, ask what you can do for the multi-LLM system".
 *
 *   M assignments a_t (t = 1..M), every slot independently uniform over the models (with replacement);
 *   s_t = f(G-Decode(A_k*), a_t) on dev;  cnt_it = slots of a_t that model i occupies;
 *   JFK_i = Σ_t cnt_it·s_t / Σ_t cnt_it.
 *
 * A model drawn in no assignment has no JFK-score for that step: the official code divides by zero there; we
 * return `null` and the weight swarm keeps the model's previous score (paper-notes "Our decisions" 4).
 */
import type { Rng } from './rng';

/** `trials` assignments of `slots` graph slots to model indices in [0, models), slot by slot (M·N draws). */
export function drawAssignments(rng: Rng, trials: number, slots: number, models: number): number[][] {
  if (!Number.isInteger(trials) || trials < 1) throw new RangeError(`JFK trials must be a positive integer, got ${trials}`);
  return Array.from({ length: trials }, () => Array.from({ length: slots }, () => rng.int(models)));
}

/** cnt_it: how many slots of each assignment every model occupies; `counts[t][i]`. */
export function occupancy(assignments: readonly (readonly number[])[], models: number): number[][] {
  return assignments.map((assignment) => {
    const counts = new Array<number>(models).fill(0);
    for (const model of assignment) {
      if (!Number.isInteger(model) || model < 0 || model >= models) throw new RangeError(`assignment names model ${model}; the pool has ${models}`);
      counts[model]!++;
    }
    return counts;
  });
}

export interface JfkOutcome {
  /** JFK_i per model, `null` for a model no assignment drew. */
  scores: (number | null)[];
  /** Σ_t cnt_it per model. */
  slots: number[];
  /** Index of the best assignment (strictly greater wins: the first of equal scores). */
  bestTrial: number;
}

/** JFK_i = Σ_t cnt_it·s_t / Σ_t cnt_it for every model i, from the assignments and their system scores s_t. */
export function jfkScores(assignments: readonly (readonly number[])[], systemScores: readonly number[], models: number): JfkOutcome {
  if (assignments.length !== systemScores.length) throw new RangeError(`${assignments.length} assignments but ${systemScores.length} scores`);
  if (assignments.length === 0) throw new RangeError('JFK needs at least one assignment');
  const counts = occupancy(assignments, models);
  const weighted = new Array<number>(models).fill(0);
  const slots = new Array<number>(models).fill(0);
  counts.forEach((row, t) => {
    const s = systemScores[t]!;
    row.forEach((cnt, i) => {
      weighted[i]! += cnt * s;
      slots[i]! += cnt;
    });
  });
  const bestTrial = systemScores.reduce((best, s, t) => (s > systemScores[best]! ? t : best), 0);
  return { scores: weighted.map((w, i) => (slots[i]! > 0 ? w / slots[i]! : null)), slots, bestTrial };
}

/**
 * The score each model takes into the weight swarm: its JFK-score, or for a model never drawn its previous
 * score; with no previous score either (the initial step), the mean of the systems' scores — the expected JFK
 * of a model about which this step says nothing.
 */
export function scoresForSwarm(outcome: JfkOutcome, previous: readonly (number | undefined)[], systemScores: readonly number[]): number[] {
  const mean = systemScores.reduce((a, b) => a + b, 0) / systemScores.length;
  return outcome.scores.map((score, i) => score ?? previous[i] ?? mean);
}
