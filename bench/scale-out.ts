/**
 * Benchmark: evaluation throughput (evaluations/s) with ONE vs TWO LLM worker processes (`hs worker --queues
 * hs-llm`), next to one orchestrator worker (`--queues hs,hs-weights`), all on one fresh HS_HOME per run, against a
 * Temporal dev server process and a fake OpenAI-compatible endpoint with a fixed latency per call. Each LLM worker
 * runs at most HS_MAX_EVALUATIONS evaluations at once (1 by default) and a role step has more graph particles than that,
 * so one worker's concurrency is the bottleneck; the endpoint is not (it answers any number of calls at once).
 *
 * Two rates per run, from the study's evaluation ledger:
 * - role step 0: the initialisation evaluates `--particles` random graphs at once — the part that scales out. Its
 *   time spans from the first of its evaluations starting to the last one ending. Goal: ratio 2/1 close to 2.
 * - whole study: every evaluation / (study start → report). It also holds what does not scale with LLM workers:
 *   later role steps whose graphs mostly repeat (answered from the call cache, except a few calls that wait on the
 *   endpoint one after another), the final test evaluation, and the workflow steps in between.
 *
 * Process start and workflow bundling are excluded (every worker polls before the study starts). Rounds interleave
 * the modes (1, 2, 1, 2, …) so that load from other processes hits both alike; medians are reported. Both modes must
 * end with the same report (same seed, deterministic endpoint). The task is written here (arithmetic multiple
 * choice, `--dev-items` dev items); the models are `--models` model names on the one endpoint.
 *
 *   node --require tsx/cjs bench/scale-out.ts [--rounds 3] [--delay-ms 300] [--max-evaluations 1] [--particles 16]
 *     [--iterations 1] [--models 4] [--dev-items 8]
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createFsLedger } from '../activities/ledger';
import type { SearchConfigInput } from '../workflows/core/config';
import type { LedgerEntry } from '../workflows/core/ledger';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../workflows/core/names';
import type { SearchReport } from '../workflows/search.workflow';
import { comparable } from '../test/chaos/rig';
import { startDevServerProcess } from '../test/helpers/dev-server-process';
import { startFakeOpenAi } from '../test/helpers/fake-openai';
import { tempDir } from '../test/helpers/temporal';
import { WorkerProcesses } from '../test/helpers/worker-processes';

interface Run {
  llmWorkers: number;
  evaluations: number;
  studySeconds: number;
  /** Evaluations of role step 0 and the seconds from the first one starting to the last one ending. */
  initEvaluations: number;
  initSeconds: number;
  /** Chat requests the endpoint received (identical calls in flight on two workers at once are sent twice). */
  calls: number;
  maxInFlight: number;
  report: SearchReport;
}

/** A JSONL multiple-choice task of `dev` arithmetic questions (and 2 test ones), written to a fresh directory. */
function writeTask(dev: number): string {
  const lines = Array.from({ length: dev + 2 }, (_, i) => {
    const [a, b] = [7 + 3 * i, 11 + 5 * i];
    const options = [a + b, a + b + 1, a + b - 2, a + b + 10];
    const order = [i % 4, (i + 1) % 4, (i + 2) % 4, (i + 3) % 4];
    const choices = order.map((k, j) => `${'ABCD'[j]}. ${options[k]}`);
    return JSON.stringify({ id: `q${i}`, question: `What is ${a} + ${b}?`, choices, answer: 'ABCD'[order.indexOf(0)], split: i < dev ? 'dev' : 'test' });
  });
  const file = path.join(tempDir('bench-scale-task'), 'arith.jsonl');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Seconds from the first of `entries` starting to the last one ending. */
function span(entries: readonly LedgerEntry[]): number {
  const ends = entries.map((e) => Date.parse(e.recordedAt));
  const starts = entries.map((e, i) => ends[i]! - e.latencyMs);
  return (Math.max(...ends) - Math.min(...starts)) / 1000;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      'delay-ms': { type: 'string', default: '300' },
      'max-evaluations': { type: 'string', default: '1' },
      particles: { type: 'string', default: '16' },
      iterations: { type: 'string', default: '1' },
      models: { type: 'string', default: '4' },
      'dev-items': { type: 'string', default: '8' },
    },
  });
  const rounds = Number(values.rounds);
  const delayMs = Number(values['delay-ms']);
  const maxEvaluations = values['max-evaluations'];
  const particles = Number(values.particles);
  const iterations = Number(values.iterations);
  const modelCount = Number(values.models);
  const devItems = Number(values['dev-items']);
  const task = writeTask(devItems);

  const [devServer, fake] = await Promise.all([startDevServerProcess('bench-scale'), startFakeOpenAi({ delayMs })]);
  const workers = new WorkerProcesses(() => devServer.address);
  let studies = 0;

  /** One study with `llmWorkers` LLM worker processes, on fresh processes and a fresh HS_HOME. */
  const runOnce = async (llmWorkers: number): Promise<Run> => {
    const home = tempDir(`bench-scale-${llmWorkers}`);
    const processes: ChildProcess[] = [workers.spawn(home, { queues: 'hs,hs-weights' })];
    for (let i = 0; i < llmWorkers; i++) processes.push(workers.spawn(home, { queues: 'hs-llm', env: { HS_MAX_EVALUATIONS: maxEvaluations } }));
    try {
      await Promise.all(processes.map((p) => workers.polling(p)));
      fake.reset();
      const study = `bench-scale-${studies++}-${llmWorkers}w`;
      const config: SearchConfigInput = {
        study,
        models: Array.from({ length: modelCount }, (_, i) => ({ id: `m${i}`, baseURL: fake.baseURL, model: `fake-m${i}` })),
        task: { path: task, type: 'multiple_choice' },
        roleStep: { particles },
        maxIterations: iterations,
        patience: iterations + 1,
        seed: 5,
      };
      const started = performance.now();
      const handle = await devServer.client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config] });
      const report = await workers.resultOrCrash(handle.result() as Promise<SearchReport>);
      const studySeconds = (performance.now() - started) / 1000;
      const entries = await createFsLedger(path.join(home, 'ledger')).list(study);
      const init = entries.filter((e) => e.iteration === 0 && e.step === 'role');
      return { llmWorkers, evaluations: entries.length, studySeconds, initEvaluations: init.length, initSeconds: span(init), calls: fake.requests.length, maxInFlight: fake.maxInFlight, report };
    } finally {
      await Promise.all(processes.map((p) => workers.stop(p, 'SIGTERM')));
    }
  };

  const runs: Run[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const n of [1, 2]) {
        const run = await runOnce(n);
        runs.push(run);
        console.error(`  round ${round + 1}, ${n} LLM worker(s): role step 0 ${run.initEvaluations} evaluations in ${run.initSeconds.toFixed(2)} s; study ${run.evaluations} in ${run.studySeconds.toFixed(2)} s`);
      }
    }
  } finally {
    await workers.stopAll();
    await devServer.close();
    await fake.close();
  }

  const first = runs[0]!;
  const same = runs.every((r) => JSON.stringify(comparable(r.report)) === JSON.stringify(comparable(first.report)));
  console.log(
    `fake endpoint ${delayMs} ms/call; HS_MAX_EVALUATIONS=${maxEvaluations} per LLM worker; study: ${modelCount} models, ${particles} graph particles, ` +
      `${iterations} iteration(s), ${devItems} dev items (${first.evaluations} evaluations, ${first.initEvaluations} in role step 0); ` +
      `1 orchestrator worker (hs,hs-weights) + N LLM workers (hs-llm) on a fresh HS_HOME per run; ${rounds} interleaved rounds (median)`,
  );
  const initRate = (r: Run): number => r.initEvaluations / r.initSeconds;
  const studyRate = (r: Run): number => r.evaluations / r.studySeconds;
  const rates: Record<number, { init: number; study: number }> = {};
  for (const n of [1, 2]) {
    const mine = runs.filter((r) => r.llmWorkers === n);
    rates[n] = { init: median(mine.map(initRate)), study: median(mine.map(studyRate)) };
    console.log(
      `${n} LLM worker${n === 1 ? ' ' : 's'}  role step 0 ${rates[n].init.toFixed(2).padStart(6)} evaluations/s (runs ${mine.map((r) => initRate(r).toFixed(2)).join(' / ')})  ` +
        `whole study ${rates[n].study.toFixed(2).padStart(6)} evaluations/s (runs ${mine.map((r) => studyRate(r).toFixed(2)).join(' / ')}, ${median(mine.map((r) => r.studySeconds)).toFixed(2)} s)  ` +
        `calls sent ${mine.map((r) => r.calls).join(' / ')}  endpoint max in flight ${Math.max(...mine.map((r) => r.maxInFlight))}`,
    );
  }
  console.log(
    `ratio 2/1: role step 0 ${(rates[2]!.init / rates[1]!.init).toFixed(2)}, whole study ${(rates[2]!.study / rates[1]!.study).toFixed(2)} (ideal 2.00); ` +
      `reports ${same ? 'identical in every run' : 'DIFFER between runs'}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
