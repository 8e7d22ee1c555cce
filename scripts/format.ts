/** Human-readable output of the CLI: the live progress line and the final report. */
import type { ModelStatus, StatusView, StepProgress } from '../workflows/messages';
import type { SearchReport } from '../workflows/search.workflow';

const score = (x: number | null): string => (x === null ? '—' : x.toFixed(3));

/** Fraction of the study done: the initialisation and every iteration are one unit each; the running step counts in part. */
export function progressFraction(status: StatusView, step?: StepProgress): number {
  if (status.phase === 'done') return 1;
  const units = status.maxIterations + 1;
  const finished = status.bestDevScore === null ? 0 : status.iteration + 1;
  const partial = step !== undefined && step.evaluationsTotal > 0 ? step.evaluationsDone / step.evaluationsTotal : 0;
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
 * calls, cache hits, money spent and an ETA from the pace so far.
 */
export function progressLine(status: StatusView, step?: StepProgress): string {
  const c = status.counters;
  const fraction = progressFraction(status, step);
  const filled = Math.floor(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const evals = step ? ` evals ${step.evaluationsDone}/${step.evaluationsTotal}` : '';
  const paused = status.paused ? ' [paused]' : status.budget.exhausted !== null ? ` [budget: ${status.budget.exhausted}]` : '';
  const stop = status.stopRequested ? ' [stopping]' : '';
  const elapsed = status.budget.spent.wallClockHours * 3600;
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
    ...(report.models ? ['Models (latest JFK-score, adapter version):', ...modelLines(report.models)] : []),
    `Model calls: ${report.counters.calls} paid, ${report.counters.cacheHits} from cache; tokens ${report.counters.promptTokens} in / ${report.counters.completionTokens} out; ${report.counters.evaluations} system evaluations`,
    `Transcripts: dev ${b.transcripts.dev}  test ${b.transcripts.test}`,
  ];
  return lines.join('\n');
}
