/**
 * Runs one task item through a multi-LLM system (paper-notes §3.1): nodes in topological order, each node
 * prompted with the question and its predecessors' cleaned outputs (increasing node index); nodes whose
 * predecessors are done run concurrently. The sink's cleaned output is the system's answer.
 */
import { callCostUsd, type ModelPrice } from '../workflows/core/budget';
import type { ModelSpec } from '../workflows/core/config';
import { predecessors, type DecodedGraph } from '../workflows/core/dag';
import { cleanOutput, nodePrompt } from '../workflows/core/prompts';
import { EvaluationStopped, type CachedLlm, type CallSource } from './cached-llm';

/** One node's step in the transcript. */
export interface NodeRecord {
  node: number;
  /** Id of the model that ran this node. */
  model: string;
  prompt: string;
  /** Cleaned output, as forwarded to successors. */
  output: string;
  /** True when the answer was not paid by this call (call cache or a shared in-flight call). */
  cached: boolean;
}

/** Everything about the system that is the same for every item. */
export interface SystemSpec {
  graph: DecodedGraph;
  assignment: readonly number[];
  models: readonly ModelSpec[];
  maxTokens: number;
  temperature: number;
  newlineToSpace: boolean;
  timeoutMs: number;
  /** Per-endpoint default concurrency (a model's own `concurrency` wins). */
  concurrency: number;
}

/** Paid calls and tokens of a run (cache hits counted apart). */
export interface CallTally {
  calls: number;
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
  /** USD, from the models' `price` per million tokens. */
  costUsd: number;
}

/** Result of one item: the sink output, or the errors that stopped it; `nodes` in topological order. */
export type ItemRun = { ok: true; output: string; nodes: NodeRecord[] } | { ok: false; errors: unknown[]; nodes: NodeRecord[] };

/** Problems that make a system unrunnable (empty when fine). */
export function systemProblems(graph: DecodedGraph, assignment: readonly number[], modelCount: number): string[] {
  const problems: string[] = [];
  const { n } = graph;
  const position = new Map<number, number>();
  graph.order.forEach((node, i) => position.set(node, i));
  if (graph.order.length !== n || position.size !== n || graph.order.some((node) => node >= n)) {
    problems.push(`graph.order must be a permutation of 0..${n - 1}`);
  }
  if (graph.sink >= n) problems.push(`graph.sink ${graph.sink} is outside 0..${n - 1}`);
  graph.edges.forEach(([from, to], i) => {
    if (from >= n || to >= n || from === to) problems.push(`graph.edges[${i}] ${from}→${to} is not an edge between two nodes of 0..${n - 1}`);
    else if ((position.get(from) ?? 0) >= (position.get(to) ?? 0)) problems.push(`graph.edges[${i}] ${from}→${to} goes against graph.order`);
  });
  if (assignment.length !== n) problems.push(`assignment has ${assignment.length} entries, the graph has ${n} nodes`);
  assignment.forEach((m, slot) => {
    if (m >= modelCount) problems.push(`assignment[${slot}] = ${m} but there are only ${modelCount} models`);
  });
  return problems;
}

/** Context of `runItem`. */
export interface RunContext {
  system: SystemSpec;
  llm: CachedLlm;
  tally: CallTally;
  /** Activity cancellation: aborts calls in flight. */
  cancel: AbortSignal | undefined;
  /** Evaluation stopping: nodes and calls not yet started are skipped; calls in flight finish (and are cached). */
  stop: AbortSignal;
  /** Sees every failed model call at once (before its endpoint slot is released). */
  onCallError?: (error: unknown) => void;
}

/** Runs the system on one item's task prompt. Never throws: failures are returned with the nodes done. */
export async function runItem(task: string, ctx: RunContext): Promise<ItemRun> {
  const { system, tally } = ctx;
  const preds = predecessors(system.graph);
  const records = new Map<number, NodeRecord>();
  const outputs = new Map<number, Promise<string>>();

  const runNode = async (node: number, inputs: string[]): Promise<string> => {
    if (ctx.stop.aborted) throw new EvaluationStopped('evaluation stopping');
    const model = system.models[system.assignment[node]!]!;
    const prompt = nodePrompt(task, inputs);
    const { response, source } = await ctx.llm.complete(
      { endpoint: model, messages: [{ role: 'user', content: prompt }], maxTokens: system.maxTokens, temperature: system.temperature, timeoutMs: system.timeoutMs },
      model.concurrency ?? system.concurrency,
      { signal: ctx.cancel, stop: ctx.stop, onCallError: ctx.onCallError },
    );
    count(tally, source, response, model.price);
    const output = cleanOutput(response.text, system.newlineToSpace);
    records.set(node, { node, model: model.id, prompt, output, cached: source !== 'call' });
    return output;
  };

  for (const node of system.graph.order) {
    const inputs = (preds[node] ?? []).map((p) => outputs.get(p)!);
    outputs.set(
      node,
      Promise.all(inputs).then((texts) => runNode(node, texts)),
    );
  }
  const settled = await Promise.allSettled(system.graph.order.map((node) => outputs.get(node)!));
  const nodes = system.graph.order.flatMap((node) => records.get(node) ?? []);
  const errors = [...new Set(settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : [])))];
  if (errors.length > 0) return { ok: false, errors, nodes };
  return { ok: true, output: records.get(system.graph.sink)?.output ?? '', nodes };
}

function count(tally: CallTally, source: CallSource, response: { promptTokens: number; completionTokens: number }, price: ModelPrice | undefined): void {
  if (source !== 'call') {
    tally.cacheHits++;
    return;
  }
  tally.calls++;
  tally.promptTokens += response.promptTokens;
  tally.completionTokens += response.completionTokens;
  tally.costUsd += callCostUsd(price, response.promptTokens, response.completionTokens);
}
