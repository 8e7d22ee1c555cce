/**
 * What an evaluation's failures and counts mean (design.md §5): which item errors stop the evaluation,
 * how a stopping failure becomes an `ApplicationFailure`, and the thresholds that fail a finished one.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, isRetryableFailure } from '../workflows/core/errors';
import type { EvaluationRequest, EvaluationResult } from '../workflows/core/evaluation';
import { isModelCallError } from './llm-client';
import { EvaluationStopped } from './cached-llm';

/** What an item's errors mean: stop everything (`fatal`), fail only this item (`badRequest`), or skipped. */
export type ItemErrorMeaning = { kind: 'fatal'; error: unknown } | { kind: 'badRequest'; error: Error } | { kind: 'stopped' };

/** Anything but a bad request (or "stopped") is fatal; a bad request fails only its item. */
export function classifyItemErrors(errors: readonly unknown[]): ItemErrorMeaning {
  const isBadRequest = (e: unknown): boolean => isModelCallError(e) && e.type === FailureType.ModelBadRequest;
  const fatal = errors.find((e) => !(e instanceof EvaluationStopped) && !isBadRequest(e));
  if (fatal !== undefined) return { kind: 'fatal', error: fatal };
  const bad = errors.find(isBadRequest);
  return bad instanceof Error ? { kind: 'badRequest', error: bad } : { kind: 'stopped' };
}

/**
 * The failure to throw for an error that stopped the evaluation: a `ModelCallError` becomes an
 * `ApplicationFailure` of its type — retryable ones with `nextRetryDelay` from `retry-after` — anything else
 * (an `ApplicationFailure` such as `StoreUnavailable`, or a bug) is thrown as it is.
 */
export function fatalFailure(error: unknown): unknown {
  if (!isModelCallError(error)) return error;
  const retryable = isRetryableFailure(error.type);
  return ApplicationFailure.create({
    type: error.type,
    message: error.message,
    nonRetryable: !retryable,
    nextRetryDelay: retryable && error.retryAfterMs !== undefined ? `${error.retryAfterMs}ms` : undefined,
    details: error.status === undefined ? undefined : [{ status: error.status }],
  });
}

interface JudgedItem {
  id: string;
  parsed: string | null;
  correct: boolean;
  error?: { message: string } | undefined;
}

/** Counts of a finished evaluation, and the failure that rejects it (if any) — recorded before it is thrown. */
export interface Judgement {
  counts: Omit<EvaluationResult, 'usage' | 'transcriptKey'>;
  failure: ApplicationFailure | undefined;
}

/**
 * Counts of a finished evaluation over all `request.split` items (`entries` in split order), and its
 * rejection: a non-retryable `ModelInvocationError.BadRequest` when errors exceed `maxErrorFraction` (naming
 * the first failed item) or `EvaluationDegenerate` when unparsable answers exceed `maxUnparsableFraction`.
 */
export function judgeCounts(
  request: Pick<EvaluationRequest, 'split' | 'maxErrorFraction' | 'maxUnparsableFraction'>,
  entries: readonly JudgedItem[],
  transcriptKey: string,
): Judgement {
  const total = entries.length;
  const correct = entries.filter((e) => e.correct).length;
  const failedIndex = entries.findIndex((e) => e.error !== undefined);
  const errors = entries.filter((e) => e.error !== undefined).length;
  const unparsable = entries.filter((e) => e.error === undefined && e.parsed === null).length;
  const counts = { score: correct / total, total, correct, unparsable, errors };
  const first = entries[failedIndex];
  if (first !== undefined && errors / total > request.maxErrorFraction) {
    const failure = ApplicationFailure.create({
      type: FailureType.ModelBadRequest,
      message:
        `${errors} of ${total} items failed with a bad request (maxErrorFraction ${request.maxErrorFraction}); ` +
        `first: item "${first.id}" (${request.split}[${failedIndex}]): ${first.error?.message ?? ''} (transcript ${transcriptKey})`,
      nonRetryable: true,
      details: [{ errors, total, transcriptKey }],
    });
    return { counts, failure };
  }
  if (unparsable / total > request.maxUnparsableFraction) {
    const failure = ApplicationFailure.create({
      type: FailureType.EvaluationDegenerate,
      message:
        `${unparsable} of ${total} answers were unparsable (maxUnparsableFraction ${request.maxUnparsableFraction}): ` +
        `the models' answers do not fit the task format (transcript ${transcriptKey})`,
      nonRetryable: true,
      details: [{ unparsable, total, transcriptKey }],
    });
    return { counts, failure };
  }
  return { counts, failure: undefined };
}
