/**
 * Failure `type` strings of the error taxonomy (design.md §5). Failures are classified by these strings,
 * never by `instanceof` across the workflow sandbox.
 */
export const FailureType = {
  InvalidSearchConfig: 'InvalidSearchConfig',
  InvalidUpdate: 'InvalidUpdate',
  InvalidTaskData: 'InvalidTaskData',
  TaskDataChanged: 'TaskDataChanged',
  EvaluationDegenerate: 'EvaluationDegenerate',
  ModelTimeout: 'ModelInvocationError.Timeout',
  ModelRateLimit: 'ModelInvocationError.RateLimit',
  ModelServerError: 'ModelInvocationError.ServerError',
  ModelNetwork: 'ModelInvocationError.Network',
  ModelBadRequest: 'ModelInvocationError.BadRequest',
  ModelAuth: 'ModelInvocationError.Auth',
  ModelNotFound: 'ModelInvocationError.NotFound',
  StoreUnavailable: 'StoreUnavailable',
  /** An adapter file is unreadable, not a LoRA adapter, or its tensors do not match the others of its swarm. */
  AdapterInvalid: 'AdapterError.Invalid',
  /** A workflow hand-over (child input, continue-as-new state) would exceed the payload budget. */
  PayloadTooLarge: 'PayloadTooLarge',
  /** An adapter file's sha256 differs from the one the config pins (`adapterSha256`). */
  AdapterChanged: 'AdapterError.Changed',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Types that retrying cannot fix; listed in every retry policy's `nonRetryableErrorTypes`. */
export const NON_RETRYABLE_FAILURES: readonly FailureType[] = [
  FailureType.InvalidSearchConfig,
  FailureType.InvalidUpdate,
  FailureType.InvalidTaskData,
  FailureType.TaskDataChanged,
  FailureType.EvaluationDegenerate,
  FailureType.ModelBadRequest,
  FailureType.ModelAuth,
  FailureType.ModelNotFound,
  FailureType.AdapterInvalid,
  FailureType.AdapterChanged,
  FailureType.PayloadTooLarge,
];

/** HTTP status → failure type (design.md §5): 408/409/429/5xx retry, other 4xx do not. */
export function failureTypeForStatus(status: number): FailureType {
  if (status === 429) return FailureType.ModelRateLimit;
  if (status === 408) return FailureType.ModelTimeout;
  if (status === 409 || status >= 500) return FailureType.ModelServerError;
  if (status === 401 || status === 403) return FailureType.ModelAuth;
  if (status === 404) return FailureType.ModelNotFound;
  return FailureType.ModelBadRequest;
}

export function isRetryableFailure(type: string): boolean {
  return !(NON_RETRYABLE_FAILURES as readonly string[]).includes(type);
}
