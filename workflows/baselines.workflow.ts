/**
 * `baselines`: the study's baselines (core/baselines.ts) as a child workflow, run once before the search on the
 * initial models. Single models first (dev and test; their dev calls are the role step's source-node calls, so
 * the call cache makes those free later), then chain and star on test, then the vote over the singles'
 * transcripts (no calls).
 */
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import {
  baselineParticle,
  chainGraph,
  preferenceOrder,
  SINGLE_GRAPH,
  starSystem,
  type BaselineKind,
  type Baselines,
  type BaselineScore,
} from './core/baselines';
import { parseSearchConfig, type SearchConfig } from './core/config';
import type { DecodedGraph } from './core/dag';
import { FailureType } from './core/errors';
import { addUsage, EMPTY_USAGE, type EvaluationResult, type TaskRef } from './core/evaluation';
import type { ModelVersion } from './core/state';
import { argmax } from './core/swarm';
import { modelsAt } from './core/weight-swarm';
import { progressQuery } from './messages';
import { evaluateServed } from './evaluate-served';
import { vote } from './proxies';
import { evaluationRequest } from './role-step.workflow';

export interface BaselinesInput {
  config: SearchConfig;
  task: TaskRef;
  /** The initial adapter version of every model (weight step); the config's models when absent. */
  versions?: (ModelVersion | null)[];
}

export interface BaselinesResult {
  baselines: Baselines;
  /** Every system evaluation run (for the study's counters). */
  evaluations: EvaluationResult[];
}

/** How many evaluations `kinds` costs over `n` models (the progress total). */
export function baselineEvaluations(kinds: readonly BaselineKind[], n: number): number {
  return (kinds.includes('single') ? 2 * n : 0) + (kinds.includes('chain') ? 1 : 0) + (kinds.includes('star') ? 1 : 0);
}

export async function baselines(input: BaselinesInput): Promise<BaselinesResult> {
  const parsed = parseSearchConfig(input.config);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable('baselines received an invalid config', FailureType.InvalidSearchConfig, parsed.problems);
  const config = parsed.config;
  const kinds = config.baselines;
  const n = config.models.length;
  const ids = config.models.map((m) => m.id);
  const models = modelsAt(config.models, input.versions);

  const evaluations: EvaluationResult[] = [];
  let usage = EMPTY_USAGE;
  const total = baselineEvaluations(kinds, n);
  setHandler(progressQuery, () => ({ iteration: 0, evaluationsDone: evaluations.length, evaluationsTotal: total, calls: usage.calls, cacheHits: usage.cacheHits }));

  const evaluate = async (graph: DecodedGraph, assignment: number[], split: 'dev' | 'test', particle: number): Promise<EvaluationResult> => {
    const request = evaluationRequest(config, input.task, graph, assignment, split, { study: config.study, iteration: 0, step: 'baseline', particle }, models);
    const result = await evaluateServed(config, input.versions, request);
    evaluations.push(result);
    usage = addUsage(usage, result.usage);
    return result;
  };

  const chain = (): Promise<EvaluationResult> | undefined =>
    kinds.includes('chain') ? evaluate(chainGraph(n), ids.map((_, m) => m), 'test', baselineParticle.chain(n)) : undefined;
  const result: Baselines = { singles: [], bestSingle: null };
  if (kinds.includes('single')) {
    const dev = await Promise.all(ids.map((_, m) => evaluate(SINGLE_GRAPH, [m], 'dev', m)));
    const best = argmax(dev.map((e) => e.score)); // first of equal maxima
    result.bestSingle = ids[best]!;
    const star = kinds.includes('star') ? starSystem(n, best) : undefined;
    const [test, chainTest, starTest] = await Promise.all([
      Promise.all(ids.map((_, m) => evaluate(SINGLE_GRAPH, [m], 'test', m))),
      chain(),
      star ? evaluate(star.graph, star.assignment, 'test', baselineParticle.star(n)) : undefined,
    ]);
    result.singles = ids.map(
      (id, m): BaselineScore => ({
        kind: 'single',
        models: [id],
        dev: dev[m]!.score,
        test: test[m]!.score,
        correct: test[m]!.correct,
        total: test[m]!.total,
        transcripts: { dev: dev[m]!.transcriptKey, test: test[m]!.transcriptKey },
      }),
    );
    if (chainTest) result.chain = testOnly('chain', ids, chainTest);
    if (star && starTest) result.star = testOnly('star', star.assignment.map((m) => ids[m]!), starTest);
    if (kinds.includes('vote')) {
      const preference = preferenceOrder(dev.map((e) => e.score));
      const [voteDev, voteTest] = await Promise.all(
        (['dev', 'test'] as const).map((split) =>
          vote.voteBaseline({ study: config.study, split, transcripts: (split === 'dev' ? dev : test).map((e) => e.transcriptKey), preference }),
        ),
      );
      result.vote = {
        kind: 'vote',
        models: ids,
        dev: voteDev!.score,
        test: voteTest!.score,
        correct: voteTest!.correct,
        total: voteTest!.total,
        transcripts: { dev: voteDev!.transcriptKey, test: voteTest!.transcriptKey },
      };
    }
  } else {
    const chainTest = await chain();
    if (chainTest) result.chain = testOnly('chain', ids, chainTest);
  }
  return { baselines: result, evaluations };
}

function testOnly(kind: 'chain' | 'star', models: string[], e: EvaluationResult): BaselineScore {
  return { kind, models, dev: null, test: e.score, correct: e.correct, total: e.total, transcripts: { dev: null, test: e.transcriptKey } };
}
