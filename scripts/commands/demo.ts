/**
 * `hs demo` (`npm run demo`): a real study end to end on this machine — the Temporal dev server, the embedded
 * LLM server (SmolLM2-135M-Instruct on CPU) with a pool of 4 LoRA experts (`hs pool init`), a worker, and a
 * joint search (role steps over DAGs + weight steps moving the experts' LoRA adapters under the JFK-score) on
 * arithmetic multiple choice, with live progress and the report. Ctrl-C stops everything it started.
 *
 * To run against your own OpenAI-compatible endpoint instead:
 *   HS_DEMO_BASE_URL   e.g. http://127.0.0.1:11434/v1 (Ollama), http://127.0.0.1:8000/v1 (vLLM)
 *   HS_DEMO_MODELS     comma-separated model names on that endpoint, one graph node each (e.g. "a,b,c")
 *   HS_DEMO_API_KEY_ENV  optional: NAME of the environment variable that holds the endpoint's API key
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { ModelSpecInput, SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverterFor } from '../../workers/codec';
import { createRealDeps } from '../../workers/deps';
import { readEnv, type HsEnv } from '../../workers/env';
import { loadPool } from '../../llm/pool-schema';
import { initPool } from '../../llm/pool';
import { startLlmServer } from '../llm-process';
import { createWorkers } from '../../workers/worker';
import { withClient } from '../client';
import { isAlive, REPO_ROOT, spawnDevServer, waitForServer } from '../dev-server';
import { reportText } from '../format';
import { createFsLedger } from '../../activities/ledger';
import { reportHtml } from '../report/html';
import { reportInput } from './report';
import type { SearchReport } from '../../workflows/search.workflow';
import { watch } from './study';

const EMBEDDED_BASE = path.join(REPO_ROOT, '.models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const SHARED_TASK = path.resolve(REPO_ROOT, '../shared/data/synthetic/arith-mc.jsonl');

/** A small arithmetic multiple-choice task written by the demo itself when ../shared/data is absent. */
function writeOwnTask(file: string): void {
  const lines: string[] = [];
  for (let a = 1; a <= 9; a++) {
    for (const b of [2, 5, 7]) {
      const sum = a + b;
      const options = [sum, sum + 1, sum - 1, sum + 2];
      const shift = (a + b) % 4; // rotate so the right answer is not always A
      const rotated = options.map((_, i) => options[(i + shift) % 4]!);
      const answer = 'ABCD'[rotated.indexOf(sum)]!;
      lines.push(JSON.stringify({ id: `sum-${a}-${b}`, question: `What is ${a} + ${b}?`, choices: rotated.map(String), answer }));
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

export async function demoCommand(): Promise<number> {
  const env = readEnv();
  const started = Date.now();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  const onSignal = (): void => {
    console.log('\nstopping everything the demo started…');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runDemo(env, started, cleanups);
  } finally {
    await cleanup();
  }
}

/** The pool of the demo: the user's endpoint, or the embedded server with 4 LoRA experts. */
async function demoModels(env: HsEnv, cleanups: (() => Promise<void>)[]): Promise<ModelSpecInput[]> {
  const baseURL = process.env.HS_DEMO_BASE_URL;
  const names = (process.env.HS_DEMO_MODELS ?? '').split(',').map((m) => m.trim()).filter(Boolean);
  if (baseURL !== undefined && names.length > 0) {
    const apiKeyEnv = process.env.HS_DEMO_API_KEY_ENV;
    return names.map((model, i) => ({ id: `m${i}-${model.replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 64), baseURL, model, ...(apiKeyEnv ? { apiKeyEnv } : {}) }));
  }
  const pool = await initPool({ basePath: EMBEDDED_BASE, outDir: path.join(env.home, 'adapters'), name: 'smollm2', experts: 4, rank: 8, seed: 1 });
  const manifest = await loadPool(pool.manifestPath, { resolvePaths: true });
  console.log(`expert pool: ${manifest.experts.map((e) => e.name).join(', ')} (LoRA rank 8 on SmolLM2-135M-Instruct) in ${pool.manifestPath}`);
  const server = await startLlmServer(manifest.experts.flatMap((e) => ['--lora', `${e.name}=${e.path}@smollm2`]), { ...process.env, HS_HOME: env.home });
  cleanups.push(() => server.stop());
  console.log(`embedded LLM server (node-llama-cpp, CPU) on ${server.baseURL}`);
  return manifest.experts.map((e, i) => ({
    id: `expert-${i}`,
    baseURL: server.baseURL,
    model: e.name,
    adapterSha256: e.sha256,
    concurrency: 2,
    // The weight step moves this adapter and hot-loads each version into the embedded server.
    adapter: { path: e.path, format: 'gguf' as const, base: 'smollm2' },
  }));
}

async function runDemo(env: HsEnv, started: number, cleanups: (() => Promise<void>)[]): Promise<number> {
  const models = await demoModels(env, cleanups);
  let taskPath = SHARED_TASK;
  if (!fs.existsSync(taskPath)) {
    taskPath = path.join(env.home, 'demo', 'arith-sums.jsonl');
    writeOwnTask(taskPath);
  }
  const config: SearchConfigInput = {
    study: 'demo',
    models,
    task: { path: taskPath, type: 'multiple_choice', devLimit: 8, testLimit: 24, devFraction: 0.5 },
    roleStep: { particles: 4 },
    weightStep: { assignments: 4 },
    maxIterations: 3,
    // The paper uses 50 new tokens for multiple choice; the letter comes first, so 16 keeps the CPU demo short.
    generation: { maxTokens: 16 },
    seed: 42,
  };

  // The dev server: reuse a running one, else start one for the demo (stopped at the end).
  try {
    await waitForServer(env.temporalAddress, 1_500);
  } catch {
    const [host, port] = env.temporalAddress.split(':');
    if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`no Temporal server at ${env.temporalAddress}`);
    const server = spawnDevServer({ dbFile: path.join(env.home, 'temporal.db'), port: Number(port), logFile: path.join(env.home, 'temporal.log') }, false);
    cleanups.push(async () => {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    });
    await waitForServer(env.temporalAddress, 30_000, () => isAlive(server.pid!));
    console.log(`Temporal dev server on ${env.temporalAddress} (Web UI http://127.0.0.1:${Number(port) + 1000})`);
  }
  Runtime.install({ logger: new DefaultLogger('ERROR') }); // the progress line is the demo's output
  const connection = await NativeConnection.connect({ address: env.temporalAddress });
  const dataConverter = dataConverterFor(env.payloadKey);
  const workers = await createWorkers({ connection, namespace: env.namespace, deps: createRealDeps(env), ...(dataConverter ? { dataConverter } : {}) });
  const running = workers.map((w) => w.run());
  cleanups.push(async () => {
    workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
    await Promise.allSettled(running);
    await connection.close();
  });
  {
    return await withClient(env, async (client) => {
      try {
        await client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId('demo'), args: [config] });
        const weights = models.some((m) => m.adapter !== undefined) ? ', weight steps with 4 JFK assignments' : '';
        console.log(`study "demo": ${config.models.length} models, 4 graph particles${weights}, ${config.maxIterations} iterations on ${taskPath}`);
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
        console.log('study "demo" is already running; watching it');
      }
      const report = await watch(client, 'demo');
      console.log(reportText(report));
      const change = weightStepChange(report);
      if (change !== undefined) console.log(change);
      const seconds = (Date.now() - started) / 1000;
      const c = report.counters;
      console.log(`demo wall time ${seconds.toFixed(1)} s; ${c.calls} model calls paid, ${c.cacheHits} from the cache; ${c.completionTokens} tokens generated`);
      const ui = `http://127.0.0.1:${Number(env.temporalAddress.split(':')[1]) + 1000}`;
      console.log(`Web UI: ${ui}/namespaces/${env.namespace}/workflows/${encodeURIComponent(studyWorkflowId('demo'))}`);
      const page = path.join(env.home, 'demo-report.html');
      fs.writeFileSync(page, await reportHtml(await reportInput(report, createFsLedger(path.join(env.home, 'ledger')), { uiBase: ui, namespace: env.namespace })));
      console.log(`HTML report (charts, best DAG, test score vs baselines): ${page}`);
      return 0;
    });
  }
}

/** How the weight step moved dev scores: mean JFK-score and best JFK assignment, first vs last iteration. */
export function weightStepChange(report: SearchReport): string | undefined {
  const withJfk = report.summaries.filter((s) => s.jfk !== undefined && s.bestAssignmentScore !== undefined);
  const first = withJfk[0];
  const last = withJfk[withJfk.length - 1];
  if (first === undefined || last === undefined || first === last) return undefined;
  const mean = (xs: readonly (number | null)[]): number => {
    const known = xs.filter((x): x is number => x !== null);
    return known.reduce((a, b) => a + b, 0) / Math.max(1, known.length);
  };
  const f = (x: number): string => x.toFixed(3);
  return (
    `weight step: mean JFK-score ${f(mean(first.jfk ?? []))} (iteration ${first.iteration}) → ${f(mean(last.jfk ?? []))} (iteration ${last.iteration}); ` +
    `best JFK assignment ${f(first.bestAssignmentScore ?? 0)} → ${f(last.bestAssignmentScore ?? 0)}`
  );
}
