/**
 * What the chaos scenarios share: the short/full switch, freezing the endpoint so the calls in flight at a
 * crash are exactly countable, the count of calls re-sent, the parts of a report two runs must agree on, and
 * one printed line per scenario (kills survived, calls re-sent, recovery seconds).
 *
 * Every scenario runs in separate processes — the Temporal dev server on a SQLite file, `hs worker` processes —
 * against a fake OpenAI-compatible endpoint in the test process, and compares the disturbed study with an
 * uninterrupted run of the same seed.
 */
import path from 'node:path';
import { createFsLedger } from '../../activities/ledger';
import type { SearchReport } from '../../workflows/search.workflow';
import type { FakeOpenAi } from '../helpers/fake-openai';

/** `HS_CHAOS=full` (`npm run test:chaos`): longer studies, more kills; otherwise the short form run by `npm test`. */
export const CHAOS_FULL = process.env.HS_CHAOS === 'full';

/** One crash and what it cost. */
export interface Crash {
  /** When it happened, e.g. "weight step 1, 3 calls in". */
  moment: string;
  /** Model calls in flight when the process died (they may be sent again). */
  inFlight: number;
  /** Seconds from the crash until the study made progress again. */
  recoverySeconds: number;
}

/** Latency of the endpoint while frozen: long enough to outlive any crash-and-restart in these tests. */
const FROZEN_MS = 60_000;

/**
 * Freezes the endpoint: calls already being answered finish (and reach the call cache), every new one stalls.
 * Returns the calls in flight once that has settled, and a function that thaws the endpoint: the stalled calls
 * are answered at once (to a dead worker after a kill, whose activities are then retried).
 */
export async function freeze(fake: FakeOpenAi, normalDelayMs: number): Promise<{ inFlight: number; thaw: () => void }> {
  fake.setDelayMs(FROZEN_MS);
  await new Promise((r) => setTimeout(r, normalDelayMs + 400));
  return {
    inFlight: fake.inFlight,
    thaw: () => {
      fake.setDelayMs(normalDelayMs);
      fake.wakeAll();
    },
  };
}

/** Chat requests whose body the endpoint had already received: paid twice. */
export function resentCalls(fake: FakeOpenAi): number {
  const keys = fake.requests.map((r) => r.key);
  return keys.length - new Set(keys).size;
}

/** What must not depend on crashes: the best system, its scores, the per-iteration summaries and JFK-scores. */
export function comparable(report: SearchReport) {
  return { best: { ...report.best, transcripts: null }, summaries: report.summaries, models: report.models, iterations: report.iterations, stoppedBy: report.stoppedBy };
}

/**
 * The study's ledger without what differs between two runs of one study (its name, timings, cache use), as
 * sorted JSON lines: two runs with the same seed must record the same evaluations, none lost, none twice.
 */
export async function comparableLedger(home: string, study: string): Promise<string[]> {
  return (await createFsLedger(path.join(home, 'ledger')).list(study))
    .map((e) => JSON.stringify({ ...e, key: '', study: '', latencyMs: 0, recordedAt: '', usage: null, transcriptKey: '' }))
    .sort();
}

/** Prints the scenario's line: kills survived, calls re-sent (and the bound: calls in flight), recovery times. */
export function printScenario(scenario: string, crashes: readonly Crash[], resent: number, extra = '', survived = 'kills survived'): void {
  if (crashes.length === 0) {
    console.log(`      [chaos] ${scenario}: calls re-sent ${resent}${extra}`);
    return;
  }
  const inFlight = crashes.reduce((sum, c) => sum + c.inFlight, 0);
  const times = crashes.map((c) => c.recoverySeconds).sort((a, b) => a - b);
  const recovery =
    times.length === 0 ? 'n/a' : `${times[0]!.toFixed(1)}–${times[times.length - 1]!.toFixed(1)} s (median ${times[Math.floor(times.length / 2)]!.toFixed(1)} s)`;
  console.log(`      [chaos] ${scenario}: ${survived} ${crashes.length}; calls re-sent ${resent} (in flight at the crashes ${inFlight}); recovery ${recovery}${extra}`);
  for (const c of crashes) console.log(`        - ${c.moment}: ${c.inFlight} in flight, progress again after ${c.recoverySeconds.toFixed(1)} s`);
}
