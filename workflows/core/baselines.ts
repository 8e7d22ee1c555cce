/**
 * The baselines the tool runs beside the search (paper-notes §8.2), on the study's initial models, so a study
 * reports what the searched system is worth against them:
 * - `single` — Best Single: every model alone, on dev and test; the best on dev (first of ties) is the best
 *   single model, and its test score is the baseline.
 * - `chain` — static role: every model in pool order, each reading its predecessor's answer; the last answers.
 * - `star` — static role: every other model (pool order) feeds the best single model, which answers.
 * - `vote` — Prediction Merge: per item, the majority of the single models' parsed answers (ties go to the
 *   model best on dev). Costs no calls: it reads the single models' transcripts.
 * Our choice, not the paper's (which does not say how Chain and Star order or centre the pool): chain in config
 * order, star centred on the best single model; chain and star are evaluated on test only.
 * Pure: graphs, the vote and the result schema.
 */
import { z } from 'zod';
import type { DecodedGraph } from './dag';

export const BASELINE_KINDS = ['single', 'chain', 'star', 'vote'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/** The config's `baselines`: which to run (none = `[]`); `star` and `vote` build on `single`. */
export const BaselineKindsSchema = z.array(z.enum(BASELINE_KINDS)).superRefine((kinds, ctx) => {
  const seen = new Set<BaselineKind>();
  kinds.forEach((kind, i) => {
    if (seen.has(kind)) ctx.addIssue({ code: 'custom', path: [i], message: `"${kind}" is listed twice` });
    seen.add(kind);
  });
  for (const kind of ['star', 'vote'] as const) {
    if (seen.has(kind) && !seen.has('single')) {
      ctx.addIssue({ code: 'custom', path: [kinds.indexOf(kind)], message: `"${kind}" builds on the single models' results: add "single"` });
    }
  }
});

/** Ledger/label particle numbers of the baseline evaluations: singles use the model index. */
export const baselineParticle = { chain: (n: number): number => n, star: (n: number): number => n + 1 } as const;

/** One node: a model alone. */
export const SINGLE_GRAPH: DecodedGraph = { n: 1, edges: [], sink: 0, order: [0] };

/** 0 → 1 → … → n−1; the last node answers. Assignment: identity. */
export function chainGraph(n: number): DecodedGraph {
  const order = Array.from({ length: n }, (_, i) => i);
  return { n, edges: order.slice(1).map((to): [number, number] => [to - 1, to]), sink: n - 1, order };
}

/**
 * Every other model feeds `hub`, which answers: slots 0..n−2 are the other models in pool order, slot n−1 the
 * hub. Returns the graph and the slot → model assignment.
 */
export function starSystem(n: number, hub: number): { graph: DecodedGraph; assignment: number[] } {
  const leaves = Array.from({ length: n }, (_, i) => i).filter((i) => i !== hub);
  const order = Array.from({ length: n }, (_, i) => i);
  return {
    graph: { n, edges: leaves.map((_, slot): [number, number] => [slot, n - 1]), sink: n - 1, order },
    assignment: [...leaves, hub],
  };
}

/** Model indices by dev score, best first (stable: pool order among equals): the vote's tie-break order. */
export function preferenceOrder(devScores: readonly number[]): number[] {
  return devScores.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i).map((x) => x.i);
}

/** One model's answer to one item, as its transcript scored it. */
export interface Ballot {
  parsed: string | null;
  correct: boolean;
}

/** Answers that the scorer reads alike count as one: case, surrounding space and thousands separators. */
export function normaliseAnswer(parsed: string): string {
  return parsed.trim().toLowerCase().replace(/(\d),(?=\d{3}(?!\d))/g, '$1');
}

/**
 * The majority answer of one item. `ballots[m]` is model m's; unparsable ballots do not vote; equal counts go
 * to the answer of the model earliest in `preference`. The verdict is the winning ballot's own (every ballot of
 * one normalised answer is scored alike). No parsable ballot: unparsable, wrong.
 */
export function majorityVote(ballots: readonly Ballot[], preference: readonly number[]): { parsed: string | null; correct: boolean; votes: number } {
  const counts = new Map<string, number>();
  for (const b of ballots) if (b.parsed !== null) counts.set(normaliseAnswer(b.parsed), (counts.get(normaliseAnswer(b.parsed)) ?? 0) + 1);
  if (counts.size === 0) return { parsed: null, correct: false, votes: 0 };
  const top = Math.max(...counts.values());
  for (const m of preference) {
    const b = ballots[m];
    if (b?.parsed != null && counts.get(normaliseAnswer(b.parsed)) === top) return { parsed: b.parsed, correct: b.correct, votes: top };
  }
  // Unreachable with a complete preference order; keep pool order as the fallback.
  const b = ballots.find((x) => x.parsed !== null && counts.get(normaliseAnswer(x.parsed)) === top)!;
  return { parsed: b.parsed, correct: b.correct, votes: top };
}

export const BaselineScoreSchema = z.strictObject({
  kind: z.enum(BASELINE_KINDS),
  /** The models of the system, slot order (single: one; star: the hub last). */
  models: z.array(z.string()).min(1),
  /** Dev accuracy; null where the baseline is evaluated on test only (chain, star). */
  dev: z.number().nullable(),
  test: z.number(),
  /** Test items answered correctly, of `total`. */
  correct: z.int().min(0),
  total: z.int().min(0),
  /** Blob keys of the transcripts (`hs transcript <key>`). */
  transcripts: z.strictObject({ dev: z.string().nullable(), test: z.string() }),
});
export type BaselineScore = z.infer<typeof BaselineScoreSchema>;

export const BaselinesSchema = z.strictObject({
  /** Every model alone, in pool order (empty when `single` was not run). */
  singles: z.array(BaselineScoreSchema),
  /** Id of the best single model on dev (first of ties); null without singles. */
  bestSingle: z.string().nullable(),
  chain: BaselineScoreSchema.optional(),
  star: BaselineScoreSchema.optional(),
  vote: BaselineScoreSchema.optional(),
});
export type Baselines = z.infer<typeof BaselinesSchema>;

/** The rows a report compares the searched system with: best single, chain, star, vote (those that ran). */
export function baselineRows(b: Baselines): { name: string; score: BaselineScore }[] {
  const best = b.singles.find((s) => s.models[0] === b.bestSingle);
  return [
    ...(best ? [{ name: `best single (${b.bestSingle ?? ''})`, score: best }] : []),
    ...(b.chain ? [{ name: 'chain', score: b.chain }] : []),
    ...(b.star ? [{ name: `star (hub ${b.star.models[b.star.models.length - 1] ?? ''})`, score: b.star }] : []),
    ...(b.vote ? [{ name: 'vote', score: b.vote }] : []),
  ];
}
