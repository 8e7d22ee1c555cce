/**
 * Payload budget. Temporal rejects any single payload above 2 MiB (and warns far earlier); workflow inputs,
 * child inputs/results and the state carried across continue-as-new must stay well below it. The config is
 * checked up front (`estimatedStateBytes`), and every large hand-over is measured before it is made.
 */

/** Our budget for one payload: a quarter of Temporal's 2 MiB hard limit. */
export const PAYLOAD_BUDGET_BYTES = 512 * 1024;

/** Upper bound of the JSON bytes of one float64 (e.g. "-0.12345678901234567,"). */
const BYTES_PER_NUMBER = 24;

/** UTF-8 length of the JSON text of `value` (no Buffer / TextEncoder: runs in the workflow sandbox). */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value) ?? '';
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      bytes += 4; // a surrogate pair
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Bytes of the graph swarm carried in every role-step hand-over and across continue-as-new: x, v and p per
 * particle plus g and g_w, each an N×N matrix of numbers (histories are small beside them).
 */
export function estimatedSwarmBytes(models: number, particles: number): number {
  return (3 * particles + 2) * models * models * BYTES_PER_NUMBER;
}

/** `undefined` when `value` fits the budget, else a message naming `what` and both sizes. */
export function payloadProblem(what: string, value: unknown, budget = PAYLOAD_BUDGET_BYTES): string | undefined {
  const bytes = jsonBytes(value);
  if (bytes <= budget) return undefined;
  return `${what} is ${(bytes / 1024).toFixed(0)} KiB, above the ${(budget / 1024).toFixed(0)} KiB payload budget (Temporal's limit is 2 MiB per payload)`;
}
