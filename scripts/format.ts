/** Human-readable output of the CLI: the live progress line and the final report. */
import { baselineRows, type Baselines } from '../workflows/core/baselines';
import type { ModelStatus, StatusView, StepProgress } from '../workflows/messages';
import type { SearchReport } from '../workflows/search.workflow';

const score = (x: number | null): string => (x === null ? '—' : x.toFixed(3));

/**
 * Fraction of the study done: the baselines (when they run), the initialisation and every iteration are one unit
 * each; the running step counts in part — in a joint study its role step is the first half of the iteration's
 * unit and its weight step the second.
 */
export function progressFraction(status: StatusView, step?: StepProgress): number {
  if (status.phase === 'done') return 1;
  const baselines = status.phase === 'baselines' || status.baselines !== null ? 1 : 0;
  const units = status.maxIterations + 1 + baselines;
  const finished = (status.baselines === null ? 0 : 1) + (status.bestDevScore === null ? 0 : status.iteration + 1);
  const done = step !== undefined && step.evaluationsTotal > 0 ? step.evaluationsDone / step.evaluationsTotal : 0;
  const joint = status.models !== null;
  const running = status.currentStep ?? '';
  const partial = joint && running.includes('/weight-') ? 0.5 + done / 2 : joint && running.includes('/role-') ? done / 2 : done;
  return Math.min(1, (finished + (status.currentStep === null ? 0 : partial)) / units);
}

/** "1h02m", "4m10s", "12s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const BAR_WIDTH = 20;

/**
 * The live progress line of `hs start --wait` / `hs watch`, from the `status` query (and the running step's
 * `progress`): a bar over initialisation + iterations, the iteration, the step's evaluations, best dev score,
 * calls, cache hits, money spent and an ETA from the pace so far. The elapsed time is measured on this clock from
 * `status.startedAt`: inside a query, workflow time stands still at the last workflow task.
 */
export function progressLine(status: StatusView, step?: StepProgress, now: number = Date.now()): string {
  const c = status.counters;
  const fraction = progressFraction(status, step);
  const filled = Math.floor(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const evals = step ? ` evals ${step.evaluationsDone}/${step.evaluationsTotal}` : '';
  const paused = status.paused ? ' [paused]' : status.budget.exhausted !== null ? ` [budget: ${status.budget.exhausted}]` : '';
  const stop = status.stopRequested ? ' [stopping]' : '';
  const elapsed = Math.max(0, now - status.startedAt) / 1000;
  const eta = fraction > 0 && fraction < 1 && status.budget.exhausted === null && !status.paused ? ` | ETA ${duration((elapsed / fraction) * (1 - fraction))}` : '';
  return (
    `[${status.study}] ${status.phase}${paused}${stop} ${bar} iteration ${status.iteration}/${status.maxIterations}${evals}` +
    ` | best dev ${score(status.bestDevScore)} | calls ${c.calls + (step?.calls ?? 0)} | cache hits ${c.cacheHits + (step?.cacheHits ?? 0)}` +
    ` | cost $${c.costUsd.toFixed(2)}${eta}`
  );
}

/** One line per model: latest JFK-score and adapter version. */
export function modelLines(models: readonly ModelStatus[]): string[] {
  const width = Math.max(...models.map((m) => m.id.length));
  return models.map((m) => {
    const made = m.seeded === true ? `seeded after iteration ${m.adapterIteration ?? 0}` : `version of iteration ${m.adapterIteration ?? 0}`;
    const version = m.adapterSha256 === null ? 'fixed (no adapter)' : `${m.served}  (${made}, sha256 ${m.adapterSha256.slice(0, 12)}…)`;
    return `  ${m.id.padEnd(width)}  JFK ${score(m.jfk)}  ${version}`;
  });
}

/** The baselines: the comparison row (test, with dev where measured) and every single model. */
export function baselineLines(baselines: Baselines | null, failure: { type: string; message: string } | null): string[] {
  if (failure !== null) return [`Baselines: failed (${failure.type}: ${failure.message}); the search ran without them`];
  if (baselines === null) return [];
  const rows = baselineRows(baselines).map(({ name, score: s }) => `${name} ${s.test.toFixed(4)}${s.dev === null ? '' : ` (dev ${s.dev.toFixed(4)})`}`);
  const singles = baselines.singles.map((s) => `${s.models[0] ?? ''} ${score(s.dev)}/${s.test.toFixed(3)}`);
  return [`Baselines on test (initial models): ${rows.join(' | ')}`, ...(singles.length > 0 ? [`  single models (dev/test): ${singles.join(', ')}`] : [])];
}

const jfkCells = (jfk: readonly (number | null)[] | undefined): string => (jfk === undefined ? '' : `  JFK ${jfk.map((x) => (x === null ? '  —  ' : x.toFixed(3))).join(' ')}`);

export function reportText(report: SearchReport): string {
  const b = report.best;
  const found = b.step === 'weight' ? `weight step, JFK assignment ${b.particle}` : `role step, graph particle ${b.particle}`;
  const weights = report.models !== null;
  const lines = [
    `Study ${report.study}: stopped by ${report.stoppedBy} after ${report.iterations} iteration(s) (${report.runs} continue-as-new)`,
    `Best system (iteration ${b.iteration}, ${found}): dev ${b.devScore.toFixed(4)}  test ${b.testScore.toFixed(4)}` +
      ` (${b.test.correct}/${b.test.total} correct, ${b.test.unparsable} unparsable, ${b.test.errors} errors)`,
    `  run order: ${b.order.join(' → ')}   (answer from ${b.sink})`,
    `  edges: ${b.edges.map(([f, t]) => `${f}→${t}`).join(', ') || '(single node)'}`,
    ...(weights ? [`  slots: ${b.assignment.join(', ')}`, `  versions: ${Object.entries(b.versions).map(([id, served]) => `${id}=${served}`).join(', ')}`] : []),
    weights ? `Iterations (role step best / mean / global best; weight step best assignment and JFK-score per model: ${(report.models ?? []).map((m) => m.id).join(' ')}):` : 'Iterations (best / mean / global best):',
    ...report.summaries.map(
      (s) =>
        `  ${String(s.iteration).padStart(3)}  ${s.bestScore.toFixed(3)}  ${s.meanScore.toFixed(3)}  ${s.globalBestScore.toFixed(3)}` +
        (s.bestAssignmentScore === undefined ? '' : `  | ${s.bestAssignmentScore.toFixed(3)}${jfkCells(s.jfk)}`),
    ),
    ...baselineLines(report.baselines, report.baselinesFailure),
    ...(report.models ? ['Models (latest JFK-score, adapter version):', ...modelLines(report.models)] : []),
    `Model calls: ${report.counters.calls} paid, ${report.counters.cacheHits} from cache; tokens ${report.counters.promptTokens} in / ${report.counters.completionTokens} out; ${report.counters.evaluations} system evaluations`,
    `Transcripts: dev ${b.transcripts.dev}  test ${b.transcripts.test}`,
  ];
  return lines.join('\n');
}
