/**
 * What one finished evaluation reports to the worker's telemetry: our Prometheus metrics (through the SDK's
 * metric meter, so they share the runtime's `/metrics` endpoint) and one structured log entry with the
 * study / iteration / step / particle fields.
 *
 * Metrics (tags: study, step, split): `hs_evaluations`, `hs_model_calls`, `hs_cache_hits`, `hs_prompt_tokens`,
 * `hs_completion_tokens` (counters); `hs_evaluation_latency` (ms), `hs_evaluation_score` and
 * `hs_evaluation_cost` (USD) histograms. Cache hit rate = hs_cache_hits / (hs_cache_hits + hs_model_calls).
 */
import type { EvaluationRequest, EvaluationResult } from '../workflows/core/evaluation';
import type { ActivityHooks } from './activity-context';

export function reportEvaluation(hooks: ActivityHooks, request: EvaluationRequest, result: Omit<EvaluationResult, 'transcriptKey'> & { transcriptKey: string }, latencyMs: number, failure?: string): void {
  const { label } = request;
  const meter = hooks.metricMeter?.withTags({ study: label.study, step: label.step, split: request.split });
  if (meter !== undefined) {
    meter.createCounter('hs_evaluations', 'evaluations', 'System evaluations finished').add(1);
    meter.createCounter('hs_model_calls', 'calls', 'Model calls paid (sent to an endpoint)').add(result.usage.calls);
    meter.createCounter('hs_cache_hits', 'calls', 'Model calls answered from the call cache').add(result.usage.cacheHits);
    meter.createCounter('hs_prompt_tokens', 'tokens', 'Prompt tokens of paid calls').add(result.usage.promptTokens);
    meter.createCounter('hs_completion_tokens', 'tokens', 'Completion tokens of paid calls').add(result.usage.completionTokens);
    meter.createHistogram('hs_evaluation_latency', 'int', 'ms', 'Wall-clock time of one evaluation').record(Math.round(latencyMs));
    meter.createHistogram('hs_evaluation_score', 'float', 'accuracy', 'Score of one evaluation').record(result.score);
    meter.createHistogram('hs_evaluation_cost', 'float', 'usd', 'Money spent by one evaluation').record(result.usage.costUsd);
  }
  hooks.log?.info(failure === undefined ? 'evaluation finished' : 'evaluation rejected', {
    study: label.study,
    iteration: label.iteration,
    step: label.step,
    particle: label.particle ?? null,
    split: request.split,
    score: result.score,
    correct: result.correct,
    total: result.total,
    unparsable: result.unparsable,
    errors: result.errors,
    ...result.usage,
    latencyMs: Math.round(latencyMs),
    transcriptKey: result.transcriptKey,
    ...(failure === undefined ? {} : { failure }),
  });
}
