/**
 * The two things evaluation needs from the Temporal activity context — heartbeats and the cancellation
 * signal — behind a small interface, so the code runs (and is testable) with or without an activity context.
 */
import { Context } from '@temporalio/activity';

/** Heartbeat and cancellation of the running activity. */
export interface ActivityHooks {
  heartbeat(details: unknown): void;
  cancellationSignal: AbortSignal | undefined;
}

/** Hooks of the current Temporal activity, or inert hooks outside an activity context. */
export function currentActivityHooks(): ActivityHooks {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return { heartbeat: () => undefined, cancellationSignal: undefined };
  }
  return { heartbeat: (details) => context.heartbeat(details), cancellationSignal: context.cancellationSignal };
}
