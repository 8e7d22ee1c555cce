/**
 * `hs start <config> --dry-run`: the projected calls, tokens and cost of a study — the baselines, per
 * iteration, for the initialisation and the final test, and in total — before anything runs. Reads the task file (from
 * HS_DATA_ROOT, as the workers do) for the split sizes and prompt lengths; contacts no server.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createFsTaskLoader } from '../../activities/task-loader';
import { iterationsWithin, projectStudy, type Projection } from '../../workflows/core/budget';
import { maxTokensFor, weightStepActive, type SearchConfig } from '../../workflows/core/config';
import { nodePrompt, taskPrompt } from '../../workflows/core/prompts';

/** Rough tokens of a text: ~4 characters per token (English, BPE tokenizers). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const usd = (x: number): string => (x === 0 ? '0' : x < 0.01 ? x.toExponential(2) : x.toFixed(2));

/** The dry-run report as text lines. */
export function dryRunText(config: SearchConfig, task: { dev: number; test: number; promptTokens: number }): string {
  const assignments = weightStepActive(config) ? config.weightStep.assignments : 0;
  const maxTokens = maxTokensFor(config);
  const projection = projectStudy({
    prices: config.models.map((m) => m.price),
    devItems: task.dev,
    testItems: task.test,
    promptTokens: task.promptTokens,
    maxTokens,
    particles: config.roleStep.particles,
    assignments,
    iterations: config.maxIterations,
    baselines: config.baselines,
  });
  const row = (label: string, p: Projection): string =>
    `${label.padEnd(26)}${int(p.calls).padStart(12)}${int(p.promptTokens).padStart(16)}${int(p.completionTokens).padStart(16)}${usd(p.costUsd).padStart(12)}`;
  const lines = [
    `dry run of "${config.study}": ${config.models.length} models, ${config.roleStep.particles} graph particles` +
      `${assignments > 0 ? `, ${assignments} JFK assignments` : ''}, up to ${config.maxIterations} iterations; ` +
      `${task.dev} dev / ${task.test} test items, ~${task.promptTokens} prompt tokens per item; ` +
      `baselines: ${config.baselines.length > 0 ? config.baselines.join(', ') : 'none'}`,
    `upper bound: no cache hits, every completion at maxTokens ${maxTokens}, every node reading every other node's output`,
    '',
    `${''.padEnd(26)}${'calls'.padStart(12)}${'prompt tokens'.padStart(16)}${'completion tok.'.padStart(16)}${'cost USD'.padStart(12)}`,
    ...(config.baselines.length > 0 ? [row('baselines (before iter. 0)', projection.baselines)] : []),
    row('initialisation (iter. 0)', projection.initialisation),
    row('each iteration', projection.iteration),
    row('final test', projection.finalTest),
    row(`total (${config.maxIterations} iterations)`, projection.total),
  ];
  if (config.models.every((m) => m.price === undefined)) lines.push('', 'no model has a "price": cost is 0 (local models)');
  const affordable = iterationsWithin(config.budget, projection.iteration, projection.baselines);
  if (affordable !== null && affordable < config.maxIterations) {
    const action = config.budget.onExhausted === 'end' ? 'ends' : 'pauses';
    lines.push('', `budget: at worst it ${action} the study after the initialisation and ${affordable} iteration(s) (limits are checked before each iteration)`);
  }
  return lines.join('\n');
}

/** Loads the task as the workers would and prints the projection; exit code. */
export async function dryRun(config: SearchConfig, dataRoot: string): Promise<number> {
  let data;
  try {
    data = (await createFsTaskLoader({ dataRoot }).load(config.task)).data;
  } catch (error) {
    console.error(`dry run: ${error instanceof ApplicationFailure || error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const items = [...data.dev, ...data.test];
  const tokens = items.map((item) => estimateTokens(nodePrompt(taskPrompt(item, config.task), [])));
  const promptTokens = Math.ceil(tokens.reduce((a, b) => a + b, 0) / Math.max(1, tokens.length));
  console.log(dryRunText(config, { dev: data.dev.length, test: data.test.length, promptTokens }));
  return 0;
}
