/**
 * Budgets (hard limits on calls, tokens, money and wall-clock time) and the cost projection of
 * `hs start --dry-run`. Pure: the workflow checks `exhaustedLimit` before every iteration; the projection
 * needs only the config and the task's sizes.
 */
import { z } from 'zod';
import type { BaselineKind } from './baselines';

/** USD per million tokens of one model. */
export interface ModelPrice {
  promptPerMillion: number;
  completionPerMillion: number;
}

/** The budget's fields without defaults (the `configure` patch names only what changes). */
export const budgetBounds = {
  /** Model calls paid (cache hits are free). */
  maxCalls: z.int().min(1),
  maxPromptTokens: z.int().min(1),
  maxCompletionTokens: z.int().min(1),
  /** USD, from the models' `price`. */
  maxCostUsd: z.number().positive().max(1e9),
  /** Hours since the study started (workflow time, across continue-as-new; paused time counts). */
  maxWallClockHours: z.number().positive().max(1e6),
  /** On exhaustion: `pause` until `configure` raises the budget (or `stop`), or `end` the study (stop reason `budget_exhausted`). */
  onExhausted: z.enum(['pause', 'end']),
};

export const BudgetSchema = z.strictObject({
  maxCalls: budgetBounds.maxCalls.optional(),
  maxPromptTokens: budgetBounds.maxPromptTokens.optional(),
  maxCompletionTokens: budgetBounds.maxCompletionTokens.optional(),
  maxCostUsd: budgetBounds.maxCostUsd.optional(),
  maxWallClockHours: budgetBounds.maxWallClockHours.optional(),
  onExhausted: budgetBounds.onExhausted.default('pause'),
});
export type Budget = z.output<typeof BudgetSchema>;

/** What a study has spent so far. */
export interface Spent {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  wallClockHours: number;
}

/** USD of one paid call. */
export function callCostUsd(price: ModelPrice | undefined, promptTokens: number, completionTokens: number): number {
  if (price === undefined) return 0;
  return (promptTokens * price.promptPerMillion + completionTokens * price.completionPerMillion) / 1e6;
}

/** The first limit `spent` has reached, as "maxCalls (120 ≥ 100)"; null while every limit has room. */
export function exhaustedLimit(budget: Budget, spent: Spent): string | null {
  const checks: [keyof Budget, number | undefined, number][] = [
    ['maxCalls', budget.maxCalls, spent.calls],
    ['maxPromptTokens', budget.maxPromptTokens, spent.promptTokens],
    ['maxCompletionTokens', budget.maxCompletionTokens, spent.completionTokens],
    ['maxCostUsd', budget.maxCostUsd, spent.costUsd],
    ['maxWallClockHours', budget.maxWallClockHours, spent.wallClockHours],
  ];
  for (const [name, limit, used] of checks) {
    if (limit !== undefined && used >= limit) return `${name} (${+used.toFixed(6)} ≥ ${limit})`;
  }
  return null;
}

/** Calls, tokens and cost of one part of a study (an upper bound: no cache hits, every completion at max tokens). */
export interface Projection {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** What the projection needs to know about the study. */
export interface ProjectionInput {
  /** Models in the pool (= graph nodes), their prices. */
  prices: (ModelPrice | undefined)[];
  /** Dev / test items, and the mean task prompt length in tokens. */
  devItems: number;
  testItems: number;
  promptTokens: number;
  /** Per node. */
  maxTokens: number;
  particles: number;
  /** JFK assignments per weight step; 0 when there is no weight step. */
  assignments: number;
  iterations: number;
  /** The baselines run before the search (config `baselines`). */
  baselines: readonly BaselineKind[];
}

/**
 * One system evaluation over `items`: every node is called once per item. A node's prompt holds the task
 * and at most every other node's output (an upper bound on the DAG's in-degree), so prompt tokens ≤
 * task + (N−1)·maxTokens; the mean price over the pool stands for the unknown assignment.
 */
function evaluationProjection(input: ProjectionInput, items: number): Projection {
  const n = input.prices.length;
  const calls = items * n;
  const promptTokens = calls * (input.promptTokens + (n - 1) * input.maxTokens);
  const completionTokens = calls * input.maxTokens;
  const meanPrompt = input.prices.reduce((s, p) => s + (p?.promptPerMillion ?? 0), 0) / n;
  const meanCompletion = input.prices.reduce((s, p) => s + (p?.completionPerMillion ?? 0), 0) / n;
  return { calls, promptTokens, completionTokens, costUsd: callCostUsd({ promptPerMillion: meanPrompt, completionPerMillion: meanCompletion }, promptTokens, completionTokens) };
}

const times = (p: Projection, k: number): Projection => ({ calls: p.calls * k, promptTokens: p.promptTokens * k, completionTokens: p.completionTokens * k, costUsd: p.costUsd * k });
const plus = (a: Projection, b: Projection): Projection => ({
  calls: a.calls + b.calls,
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  costUsd: a.costUsd + b.costUsd,
});

const ZERO: Projection = { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };

/**
 * The baselines (core/baselines.ts): every model alone on dev and test (one call per item, the task prompt
 * only, at its own price), chain and star on test (bounded like any system); the vote makes no calls.
 */
export function baselinesProjection(input: ProjectionInput): Projection {
  const items = input.devItems + input.testItems;
  const singles = input.baselines.includes('single')
    ? input.prices.reduce<Projection>((sum, price) => {
        const promptTokens = items * input.promptTokens;
        const completionTokens = items * input.maxTokens;
        return plus(sum, { calls: items, promptTokens, completionTokens, costUsd: callCostUsd(price, promptTokens, completionTokens) });
      }, ZERO)
    : ZERO;
  const systems = (input.baselines.includes('chain') ? 1 : 0) + (input.baselines.includes('star') ? 1 : 0);
  return plus(singles, times(evaluationProjection(input, input.testItems), systems));
}

/**
 * The study's projected spend: the baselines, each iteration (the initialisation is iteration 0, run right after
 * the baselines), the final test, and the total.
 */
export function projectStudy(input: ProjectionInput): { baselines: Projection; iteration: Projection; initialisation: Projection; finalTest: Projection; total: Projection } {
  const dev = evaluationProjection(input, input.devItems);
  const iteration = times(dev, input.particles + input.assignments);
  const finalTest = evaluationProjection(input, input.testItems);
  const baselines = baselinesProjection(input);
  return { baselines, iteration, initialisation: iteration, finalTest, total: plus(baselines, plus(times(iteration, input.iterations + 1), finalTest)) };
}

/**
 * How many iterations after the initialisation can start, at worst (each costing `perIteration`, the
 * initialisation too, after `upfront` — the baselines), before the budget's call, token or cost limits stop the
 * study: the budget is checked before each iteration, so iteration k+1 starts while upfront + (k+1)·perIteration
 * is below every limit. Null when no such limit binds.
 */
export function iterationsWithin(budget: Budget, perIteration: Projection, upfront: Projection = ZERO): number | null {
  const pairs: [number | undefined, number, number][] = [
    [budget.maxCalls, perIteration.calls, upfront.calls],
    [budget.maxPromptTokens, perIteration.promptTokens, upfront.promptTokens],
    [budget.maxCompletionTokens, perIteration.completionTokens, upfront.completionTokens],
    [budget.maxCostUsd, perIteration.costUsd, upfront.costUsd],
  ];
  const bounds = pairs.flatMap(([limit, per, first]) => (limit === undefined || per <= 0 ? [] : [Math.max(0, Math.ceil((limit - first) / per) - 1)]));
  return bounds.length === 0 ? null : Math.min(...bounds);
}
