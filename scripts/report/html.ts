/**
 * The `hs report` page: one self-contained HTML file (inline CSS and SVG, no script, no external reference),
 * built from plain data (`ReportInput`).
 */
import { convergenceSpec, jfkSpec, renderSvg, testScoresSpec, usageSpec } from './charts';
import { dagSvg } from './dag';
import { convergencePoints, devReferences, jfkPoints, modelIds, testRows, usagePoints, webUiUrl, type ReportInput } from './data';
import { escapeHtml as h } from './escape';

const score = (x: number | null): string => (x === null ? '—' : x.toFixed(4));
const usd = (x: number): string => `$${x.toFixed(4)}`;

const CSS = `
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.muted { color: #666; }
.note { background: #fff8e1; border-left: 4px solid #e0b000; padding: 6px 10px; }
figure { margin: 8px 0; }
code { background: #f3f3f3; padding: 1px 4px; }
`;

function table(head: readonly string[], rows: readonly (readonly string[])[], cls = ''): string {
  return [
    `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead><tbody>`,
    ...rows.map((r) => `<tr>${r.map((c) => `<td>${h(c)}</td>`).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

async function testSection(input: ReportInput): Promise<string> {
  const { report } = input;
  const rows = testRows(report, input.baselines);
  const cells = rows.map((r) => [r.system, r.models.join(', ') || '—', score(r.test), r.correct === null ? '—' : `${r.correct}/${r.total ?? 0}`, r.note]);
  const failure = report.baselinesFailure;
  const note =
    failure !== null
      ? `<p class="note" id="baselines-failed">The baselines failed (${h(failure.type)}: ${h(failure.message)}); the search ran without them.</p>`
      : report.baselines === null
        ? '<p class="note" id="no-baselines">This study ran no baselines (config <code>"baselines": []</code>): only the searched system’s test score is shown, beside any study named with <code>--baseline &lt;study&gt;</code>.</p>'
        : '<p class="muted">Baselines ran on the initial models before the search: best single = the best model alone on dev; chain = every model in config order; star = every other model feeding the best single model; vote = the majority of the single models’ answers.</p>';
  const chart = rows.length > 1 ? `<figure id="test-chart">${await renderSvg(testScoresSpec(rows))}</figure>\n` : '';
  return `<h2>Test score</h2>\n${chart}${table(['system', 'models (slot order)', 'test score', 'correct', 'note'], cells, 'test-scores')}\n${note}`;
}

function jfkTable(input: ReportInput, ids: readonly string[]): string {
  const weightIterations = input.report.summaries.filter((s) => s.jfk !== undefined);
  return table(
    ['iteration', ...ids],
    weightIterations.map((s) => [String(s.iteration), ...ids.map((_, i) => score(s.jfk?.[i] ?? null))]),
    'jfk',
  );
}

/** The whole page. */
export async function reportHtml(input: ReportInput): Promise<string> {
  const { report } = input;
  const b = report.best;
  const c = report.counters;
  const ids = modelIds(report, input.entries);
  const convergence = convergencePoints(report);
  const jfk = jfkPoints(report, ids);
  const usage = usagePoints(input.entries);
  const [convergenceSvg, jfkSvg, usageSvg] = await Promise.all([
    renderSvg(convergenceSpec(convergence, devReferences(report))),
    jfk.length > 0 ? renderSvg(jfkSpec(jfk)) : Promise.resolve(null),
    usage.length > 0 ? renderSvg(usageSpec(usage)) : Promise.resolve(null),
  ]);
  const ui = webUiUrl(input.uiBase, input.namespace, report.study);
  const found = b.step === 'weight' ? `weight step, JFK assignment ${b.particle}` : `role step, graph particle ${b.particle}`;
  const versions = Object.entries(b.versions);
  const progress =
    report.stoppedBy !== null
      ? `<p class="muted">Stopped by ${h(report.stoppedBy)} after ${report.iterations} iteration(s), ${report.runs} continue-as-new hand-over(s).</p>`
      : `<p class="note" id="running">Running (${h(input.running?.phase ?? 'unknown phase')}): ${report.iterations} of at most ${input.running?.maxIterations ?? '?'} iteration(s) done, ${report.runs} continue-as-new hand-over(s). A snapshot taken ${h(input.generatedAt)}; the best system gets its test evaluation when the study ends.</p>`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(`Study ${report.study} — Heterogeneous Swarms report`)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Study <span id="study">${h(report.study)}</span></h1>
${progress}
<p class="muted">Workflow <a id="web-ui" href="${h(ui)}">${h(`hs/${report.study}`)} in the Temporal Web UI</a>.</p>

<h2>Best system</h2>
<p>Dev ${score(b.devScore)}, test ${score(b.testScore)} — found in iteration ${b.iteration} (${h(found)}). The answer comes from the sink node <b>${h(b.sink)}</b>.</p>
<figure id="dag">${dagSvg(b)}</figure>
${versions.length > 0 ? table(['model', 'served as (adapter version)'], versions) : ''}

<h2>Convergence</h2>
<p class="muted">Per iteration: the role step’s best and mean dev score over the graph particles, the weight step’s best JFK assignment (when the study has one), and the graph swarm’s global best; dotted: the baselines’ dev scores.</p>
<figure id="convergence">${convergenceSvg}</figure>
${table(
  ['iteration', 'role best', 'role mean', 'weight best assignment', 'global best'],
  report.summaries.map((s) => [String(s.iteration), score(s.bestScore), score(s.meanScore), s.bestAssignmentScore === undefined ? '—' : score(s.bestAssignmentScore), score(s.globalBestScore)]),
  'convergence',
)}

<h2>JFK-scores</h2>
${jfkSvg === null ? '<p id="no-jfk" class="muted">No weight step ran in this study (no model has a LoRA adapter, or the weight step is off): no JFK-scores.</p>' : `<figure id="jfk">${jfkSvg}</figure>\n${jfkTable(input, ids)}`}

<h2>Calls and cost</h2>
${usageSvg === null ? '<p class="muted">The ledger has no entries for this study.</p>' : `<figure id="usage">${usageSvg}</figure>`}
${table(
  ['iteration', 'evaluations', 'paid calls', 'cache hits', 'tokens', 'cost', 'cumulative calls', 'cumulative cost'],
  usage.map((u) => [String(u.iteration), String(u.evaluations), String(u.calls), String(u.cacheHits), String(u.tokens), usd(u.costUsd), String(u.cumulativeCalls), usd(u.cumulativeCostUsd)]),
  'usage',
)}
<p class="muted">Study totals (workflow counters): ${c.calls} paid calls, ${c.cacheHits} from cache, ${c.promptTokens} prompt / ${c.completionTokens} completion tokens, ${usd(c.costUsd)}, ${c.evaluations} evaluations.${report.baselines === null ? '' : ' Iteration 0 includes the baselines, run before it; the final test counts in the last iteration.'}</p>

${await testSection(input)}

<p class="muted">Generated ${h(input.generatedAt)} by <code>hs report</code>.</p>
</body>
</html>
`;
}
