/**
 * The plain data behind `hs report`: rows for each chart and table, derived from a study's `StudyView` and
 * its evaluation ledger. Pure (no I/O), so the page can be built and tested without a server.
 */
import { baselineRows } from '../../workflows/core/baselines';
import type { LedgerEntry } from '../../workflows/core/ledger';
import type { SearchPhase } from '../../workflows/messages';
import type { StudyView } from '../../workflows/search.workflow';

/** Another study's test evaluation, shown beside the best system (read from the ledger; never made up). */
export interface Baseline {
  study: string;
  /** The baseline's final test evaluation, or null when its ledger has none (it has not finished). */
  testScore: number | null;
  correct: number | null;
  total: number | null;
  /** Models of the baseline's evaluated system, slot order. */
  assignment: string[];
  /** False when the baseline was scored on a different task file (sha256) than the study. */
  sameTask: boolean;
}

/** Where a running study is (from `status`); the page is then a snapshot. */
export interface RunningStudy {
  phase: SearchPhase;
  iteration: number;
  maxIterations: number;
}

export interface ReportInput {
  /** The finished study's report, or a running study's view so far (no test evaluation yet). */
  report: StudyView;
  /** Null for a finished study. */
  running: RunningStudy | null;
  /** The study's ledger entries (`Ledger.list(study)`). */
  entries: readonly LedgerEntry[];
  baselines: readonly Baseline[];
  /** Temporal Web UI base, e.g. http://127.0.0.1:8233. */
  uiBase: string;
  namespace: string;
  /** ISO time the page was made (shown in the footer). */
  generatedAt: string;
}

export type ScoreSeries = 'role step: best particle' | 'role step: mean' | 'weight step: best assignment' | 'global best (graph swarm)';

export interface ScorePoint {
  iteration: number;
  series: ScoreSeries;
  score: number;
}

/** Convergence: per iteration the role step's best and mean dev score, the weight step's best assignment, the global best. */
export function convergencePoints(report: Pick<StudyView, 'summaries'>): ScorePoint[] {
  return report.summaries.flatMap((s): ScorePoint[] => [
    { iteration: s.iteration, series: 'role step: best particle', score: s.bestScore },
    { iteration: s.iteration, series: 'role step: mean', score: s.meanScore },
    ...(s.bestAssignmentScore === undefined ? [] : [{ iteration: s.iteration, series: 'weight step: best assignment' as const, score: s.bestAssignmentScore }]),
    { iteration: s.iteration, series: 'global best (graph swarm)', score: s.globalBestScore },
  ]);
}

/** A baseline's dev score, drawn as a reference line on the convergence chart. */
export interface DevReference {
  name: string;
  score: number;
}

/** The baselines measured on dev: the best single model and the vote. */
export function devReferences(report: Pick<StudyView, 'baselines'>): DevReference[] {
  if (report.baselines === null) return [];
  return baselineRows(report.baselines).flatMap(({ name, score }) => (score.dev === null ? [] : [{ name: `${name}, dev`, score: score.dev }]));
}

export interface JfkPoint {
  iteration: number;
  model: string;
  jfk: number;
}

/** Model ids by model number: from the report's model list, else from the ledger's request models. */
export function modelIds(report: Pick<StudyView, 'models'>, entries: readonly LedgerEntry[]): string[] {
  if (report.models !== null) return report.models.map((m) => m.id);
  return entries[0]?.models.map((m) => m.id) ?? [];
}

/** JFK-score per model per iteration (weight steps only; a model without an adapter has none). */
export function jfkPoints(report: Pick<StudyView, 'summaries'>, ids: readonly string[]): JfkPoint[] {
  return report.summaries.flatMap((s) =>
    (s.jfk ?? []).flatMap((jfk, i): JfkPoint[] => (jfk === null ? [] : [{ iteration: s.iteration, model: ids[i] ?? `model ${i}`, jfk }])),
  );
}

export interface UsagePoint {
  iteration: number;
  /** Evaluations recorded for this iteration (all steps). */
  evaluations: number;
  calls: number;
  cacheHits: number;
  tokens: number;
  costUsd: number;
  /** Running totals up to and including this iteration. */
  cumulativeCalls: number;
  cumulativeCostUsd: number;
  cumulativeTokens: number;
}

/** Paid calls, tokens and cost per iteration (from the ledger's usage, every step incl. the final test), with running totals. */
export function usagePoints(entries: readonly LedgerEntry[]): UsagePoint[] {
  const by = new Map<number, Omit<UsagePoint, 'cumulativeCalls' | 'cumulativeCostUsd' | 'cumulativeTokens'>>();
  for (const e of entries) {
    const p = by.get(e.iteration) ?? { iteration: e.iteration, evaluations: 0, calls: 0, cacheHits: 0, tokens: 0, costUsd: 0 };
    p.evaluations += 1;
    p.calls += e.usage.calls;
    p.cacheHits += e.usage.cacheHits;
    p.tokens += e.usage.promptTokens + e.usage.completionTokens;
    p.costUsd += e.usage.costUsd;
    by.set(e.iteration, p);
  }
  let calls = 0;
  let cost = 0;
  let tokens = 0;
  return [...by.values()]
    .sort((a, b) => a.iteration - b.iteration)
    .map((p) => {
      calls += p.calls;
      cost += p.costUsd;
      tokens += p.tokens;
      return { ...p, cumulativeCalls: calls, cumulativeCostUsd: cost, cumulativeTokens: tokens };
    });
}

/** A baseline from another study's ledger: its final test evaluation (step `final`, split `test`). */
export function baselineOf(study: string, entries: readonly LedgerEntry[], taskSha256: string | null): Baseline {
  const final = entries.filter((e) => e.step === 'final' && e.split === 'test' && e.failure === null).at(-1);
  return {
    study,
    testScore: final?.score ?? null,
    correct: final?.correct ?? null,
    total: final?.total ?? null,
    assignment: final?.assignment ?? [],
    sameTask: final === undefined || taskSha256 === null || final.taskSha256 === taskSha256,
  };
}

/** The task the study's test split came from (its final evaluation), to check baselines against. */
export function studyTaskSha256(entries: readonly LedgerEntry[]): string | null {
  return entries.find((e) => e.step === 'final')?.taskSha256 ?? entries[0]?.taskSha256 ?? null;
}

/** One bar of the test-score comparison. */
export interface TestRow {
  system: string;
  /** `searched`: the study's best system; `baseline`: run by the study (core/baselines.ts); `study`: another study (`--baseline`). */
  group: 'searched' | 'baseline' | 'study';
  models: string[];
  test: number | null;
  correct: number | null;
  total: number | null;
  note: string;
}

/** The best system, the baselines the study ran (best single, chain, star, vote), and the other studies named. */
export function testRows(report: StudyView, others: readonly Baseline[]): TestRow[] {
  const b = report.best;
  return [
    {
      system: 'searched system (best)',
      group: 'searched',
      models: b.assignment,
      test: b.testScore,
      correct: b.test?.correct ?? null,
      total: b.test?.total ?? null,
      note: b.test === null ? 'this study; tested when it ends' : 'this study',
    },
    ...(report.baselines === null ? [] : baselineRows(report.baselines)).map(
      ({ name, score: s }): TestRow => ({
        system: name,
        group: 'baseline',
        models: s.models,
        test: s.test,
        correct: s.correct,
        total: s.total,
        note: s.dev === null ? 'initial models' : `initial models; dev ${s.dev.toFixed(4)}`,
      }),
    ),
    ...others.map(
      (o): TestRow => ({
        system: `study ${o.study}`,
        group: 'study',
        models: o.assignment,
        test: o.testScore,
        correct: o.correct,
        total: o.total,
        note: o.testScore === null ? 'no test evaluation in its ledger' : o.sameTask ? 'same task file' : 'DIFFERENT task file: not comparable',
      }),
    ),
  ];
}

/** The study workflow in the Temporal Web UI: `<ui>/namespaces/<ns>/workflows/hs%2F<study>`. */
export function webUiUrl(uiBase: string, namespace: string, study: string): string {
  return `${uiBase.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(`hs/${study}`)}`;
}

export type NodeRole = 'first' | 'intermediate' | 'final answer';

export interface DagNode {
  /** Node name in the report (`<model>` or `<model>#<slot>` when a model fills several slots). */
  name: string;
  model: string;
  slot: number | null;
  role: NodeRole;
  /** The model name served (adapter version), when the report lists it. */
  served: string | null;
}

/** The best system's nodes with model, slot and role (no incoming edge: first; the sink: final answer). */
export function dagNodes(best: StudyView['best']): DagNode[] {
  const targets = new Set(best.edges.map(([, to]) => to));
  return best.order.map((name) => {
    const [model = name, slotText] = name.split('#');
    const slot = slotText === undefined ? best.assignment.indexOf(model) : Number(slotText);
    const role: NodeRole = name === best.sink ? 'final answer' : targets.has(name) ? 'intermediate' : 'first';
    return { name, model, slot: slot >= 0 ? slot : null, role, served: best.versions[model] ?? null };
  });
}
