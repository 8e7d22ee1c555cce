/**
 * The report's charts: Vega-Lite specs compiled to Vega and rendered to SVG in Node (headless view, no canvas,
 * no DOM), so the page needs no script and no network to show them.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { DevReference, JfkPoint, ScorePoint, TestRow, UsagePoint } from './data';

const WIDTH = 640;
const HEIGHT = 260;

/** Renders a Vega-Lite spec to an `<svg>` string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const iterationAxis = { field: 'iteration', type: 'quantitative', title: 'iteration', axis: { tickMinStep: 1, format: 'd' } } as const;

/** A line chart over iterations: `y` per iteration, one line per `color` value. */
function lineSpec(title: string, values: readonly object[], y: { field: string; title: string }, color: Record<string, unknown>, extra: Record<string, unknown> = {}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: values.map((v) => ({ ...v })) },
    mark: { type: 'line', point: true },
    encoding: { x: iterationAxis, y: { ...y, type: 'quantitative', scale: { zero: false } }, color, ...extra },
  };
}

/**
 * Best and mean dev score per iteration (role step), the weight step's best assignment, and the global best; the
 * baselines measured on dev (best single, vote) as labelled horizontal rules.
 */
export function convergenceSpec(points: readonly ScorePoint[], references: readonly DevReference[] = []): TopLevelSpec {
  const lines = lineSpec(
    'Dev score per iteration',
    points,
    { field: 'score', title: 'dev score' },
    { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 0, symbolType: 'stroke', symbolStrokeWidth: 2.5 } },
    { strokeDash: { field: 'series', type: 'nominal' } },
  );
  if (references.length === 0) return lines;
  const { $schema, title, width, height, data, mark, encoding } = lines as Extract<TopLevelSpec, { mark: unknown }>;
  const rules = { values: references.map((r) => ({ ...r })) };
  return {
    $schema,
    title,
    width,
    height,
    layer: [
      { data, mark, encoding },
      { data: rules, mark: { type: 'rule', color: '#888', strokeDash: [2, 3] }, encoding: { y: { field: 'score', type: 'quantitative' } } },
      {
        data: rules,
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#555', fontSize: 10 },
        encoding: { x: { datum: 0, type: 'quantitative' }, y: { field: 'score', type: 'quantitative' }, text: { field: 'name' } },
      },
    ],
  };
}

/** JFK-score per model per weight step. */
export function jfkSpec(points: readonly JfkPoint[]): TopLevelSpec {
  return lineSpec('JFK-score per model (weight steps)', points, { field: 'jfk', title: 'JFK-score' }, { field: 'model', type: 'nominal', title: 'model', legend: { orient: 'bottom' } });
}

/** Cumulative paid calls (bars) and cumulative cost in USD, per iteration: two small charts side by side. */
export function usageSpec(points: readonly UsagePoint[]): TopLevelSpec {
  const values = points.map((p) => ({ ...p }));
  const half = Math.floor(WIDTH / 2) - 20;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Calls and cost over the study (cumulative, from the ledger)',
    data: { values },
    hconcat: [
      {
        width: half,
        height: 200,
        mark: { type: 'bar' },
        encoding: { x: { field: 'iteration', type: 'ordinal', title: 'iteration' }, y: { field: 'cumulativeCalls', type: 'quantitative', title: 'paid model calls (cumulative)' } },
      },
      {
        width: half,
        height: 200,
        mark: { type: 'line', point: true, color: '#c2553b' },
        encoding: {
          x: { field: 'iteration', type: 'ordinal', title: 'iteration' },
          y: { field: 'cumulativeCostUsd', type: 'quantitative', title: 'cost USD (cumulative)', axis: { format: '$.4~f' } },
        },
      },
    ],
  };
}

/** Test score of the searched system beside the baselines and other studies: one horizontal bar each. */
export function testScoresSpec(rows: readonly TestRow[]): TopLevelSpec {
  const values = rows.filter((r) => r.test !== null).map((r) => ({ system: r.system, group: r.group, test: r.test }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Test score: searched system vs baselines',
    width: WIDTH - 200,
    height: { step: 26 },
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'system', type: 'nominal', sort: null, title: null, axis: { labelLimit: 240 } },
      x: { field: 'test', type: 'quantitative', title: 'test score', scale: { domain: [0, 1] } },
      color: { field: 'group', type: 'nominal', title: null, scale: { domain: ['searched', 'baseline', 'study'], range: ['#2f6db3', '#9aa5b1', '#c2a15b'] }, legend: { orient: 'bottom' } },
      tooltip: [{ field: 'system' }, { field: 'test', format: '.4f' }],
    },
  };
}
