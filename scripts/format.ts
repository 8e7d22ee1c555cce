/** Human-readable output of the CLI: the live progress line and the final report. */
import type { StatusView, StepProgress } from '../workflows/messages';
import type { SearchReport } from '../workflows/search.workflow';

const score = (x: number | null): string => (x === null ? '—' : x.toFixed(3));

export function progressLine(status: StatusView, step?: StepProgress): string {
  const c = status.counters;
  const evals = step ? ` evals ${step.evaluationsDone}/${step.evaluationsTotal}` : '';
  const paused = status.paused ? ' [paused]' : '';
  const stop = status.stopRequested ? ' [stopping]' : '';
  return (
    `[${status.study}] ${status.phase}${paused}${stop} iteration ${status.iteration}/${status.maxIterations}${evals}` +
    ` | best dev ${score(status.bestDevScore)} | calls ${c.calls + (step?.calls ?? 0)} | cache hits ${c.cacheHits + (step?.cacheHits ?? 0)}`
  );
}

export function reportText(report: SearchReport): string {
  const b = report.best;
  const lines = [
    `Study ${report.study}: stopped by ${report.stoppedBy} after ${report.iterations} iteration(s) (${report.runs} continue-as-new)`,
    `Best system (iteration ${b.iteration}, particle ${b.particle}): dev ${b.devScore.toFixed(4)}  test ${b.testScore.toFixed(4)}` +
      ` (${b.test.correct}/${b.test.total} correct, ${b.test.unparsable} unparsable, ${b.test.errors} errors)`,
    `  run order: ${b.order.join(' → ')}   (answer from ${b.sink})`,
    `  edges: ${b.edges.map(([f, t]) => `${f}→${t}`).join(', ') || '(single node)'}`,
    'Iterations (best / mean / global best):',
    ...report.summaries.map((s) => `  ${String(s.iteration).padStart(3)}  ${s.bestScore.toFixed(3)}  ${s.meanScore.toFixed(3)}  ${s.globalBestScore.toFixed(3)}`),
    `Model calls: ${report.counters.calls} paid, ${report.counters.cacheHits} from cache; tokens ${report.counters.promptTokens} in / ${report.counters.completionTokens} out; ${report.counters.evaluations} system evaluations`,
    `Transcripts: dev ${b.transcripts.dev}  test ${b.transcripts.test}`,
  ];
  return lines.join('\n');
}
