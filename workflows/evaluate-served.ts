/**
 * Evaluating a system whose models may be adapter versions made by the weight step. An endpoint forgets the
 * versions it hot-loaded when it restarts (vLLM and `hs llm serve` keep them in memory only) and then answers
 * 404 for `<id>@<sha12>`: the evaluation fails with the non-retryable `ModelInvocationError.NotFound`. Here
 * the versions are loaded again (idempotent) and the evaluation is retried once — its finished calls come from
 * the call cache, so nothing is paid twice.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { SearchConfig } from './core/config';
import { FailureType } from './core/errors';
import type { EvaluationRequest, EvaluationResult } from './core/evaluation';
import type { ModelVersion } from './core/state';
import { modelActivities, weightActivities } from './proxies';

type Versions = readonly (ModelVersion | null)[] | undefined;

function isModelNotFound(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === FailureType.ModelNotFound;
}

/** Loads every adapter version into its endpoint again; already loaded ones are fine. */
export async function republishVersions(config: SearchConfig, versions: Versions): Promise<number> {
  const made = (versions ?? []).flatMap((v, i) => (v ? [{ model: config.models[i]!, version: v }] : []));
  const { publishAdapter } = weightActivities(config.evaluation.heartbeatTimeoutSeconds);
  await Promise.all(made.map((m) => publishAdapter(m)));
  return made.length;
}

/** `evaluateSystem`, republishing lost adapter versions and retrying once when the endpoint answers 404. */
export async function evaluateServed(config: SearchConfig, versions: Versions, request: EvaluationRequest): Promise<EvaluationResult> {
  const { evaluateSystem } = modelActivities(config.evaluation.heartbeatTimeoutSeconds);
  try {
    return await evaluateSystem(request);
  } catch (error) {
    if (!isModelNotFound(error) || (await republishVersions(config, versions)) === 0) throw error;
    return await evaluateSystem(request);
  }
}
