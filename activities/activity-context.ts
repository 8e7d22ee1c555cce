/**
 * What evaluation needs from the Temporal activity context — heartbeats, the cancellation signal, the metric
 * meter and the logger — behind a small interface, so the code runs (and is testable) with or without an
 * activity context.
 */
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';

/** A structured logger (the activity's logger adds the activity and workflow context to every entry). */
export interface ActivityLog {
  info(message: string, meta?: Record<string, unknown>): void;
}

/** Heartbeat, cancellation, metrics and logs of the running activity. */
export interface ActivityHooks {
  heartbeat(details: unknown): void;
  cancellationSignal: AbortSignal | undefined;
  /** The SDK's metric meter (exported with the runtime's metrics, e.g. Prometheus); undefined outside an activity. */
  metricMeter?: MetricMeter | undefined;
  log?: ActivityLog | undefined;
}

/** Hooks of the current Temporal activity, or inert hooks outside an activity context. */
export function currentActivityHooks(): ActivityHooks {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return { heartbeat: () => undefined, cancellationSignal: undefined };
  }
  return {
    heartbeat: (details) => context.heartbeat(details),
    cancellationSignal: context.cancellationSignal,
    metricMeter: context.metricMeter,
    log: { info: (message, meta) => void context.log.info(message, meta) },
  };
}
