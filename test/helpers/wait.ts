/** Polls `predicate` until it holds; fails with `what` after `timeoutMs`, or at once when `abort()` says why. */
export async function until(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const reason = options.abort?.();
    if (reason !== undefined) throw new Error(reason);
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
