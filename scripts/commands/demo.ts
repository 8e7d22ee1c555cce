/**
 * `hs demo` (`npm run demo`): a real study end to end — the dev server, a worker, a study on an
 * arithmetic multiple-choice task, live progress, and the report.
 *
 * Until the embedded CPU model lands, the demo needs an OpenAI-compatible endpoint from the user:
 *   HS_DEMO_BASE_URL   e.g. http://127.0.0.1:11434/v1 (Ollama), http://127.0.0.1:8000/v1 (vLLM)
 *   HS_DEMO_MODELS     comma-separated model names on that endpoint, one graph node each (e.g. "a,b,c")
 *   HS_DEMO_API_KEY_ENV  optional: NAME of the environment variable that holds the endpoint's API key
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createRealDeps } from '../../workers/deps';
import { readEnv } from '../../workers/env';
import { createWorkers } from '../../workers/worker';
import { withClient } from '../client';
import { isAlive, REPO_ROOT, spawnDevServer, waitForServer } from '../dev-server';
import { reportText } from '../format';
import { watch } from './study';

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
  const baseURL = process.env.HS_DEMO_BASE_URL;
  const models = (process.env.HS_DEMO_MODELS ?? '').split(',').map((m) => m.trim()).filter(Boolean);
  if (!baseURL || models.length === 0) {
    console.error(
      [
        'The demo needs an OpenAI-compatible endpoint until the embedded CPU model lands (next milestone):',
        '  HS_DEMO_BASE_URL=http://127.0.0.1:11434/v1 HS_DEMO_MODELS=qwen2.5:0.5b,llama3.2:1b,smollm2:135m npm run demo',
        'Optional: HS_DEMO_API_KEY_ENV=NAME_OF_THE_VARIABLE_HOLDING_THE_KEY',
      ].join('\n'),
    );
    return 2;
  }
  const apiKeyEnv = process.env.HS_DEMO_API_KEY_ENV;
  let taskPath = SHARED_TASK;
  if (!fs.existsSync(taskPath)) {
    taskPath = path.join(env.home, 'demo', 'arith-sums.jsonl');
    writeOwnTask(taskPath);
  }
  const config: SearchConfigInput = {
    study: 'demo',
    models: models.map((model, i) => ({ id: `m${i}-${model.replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 64), baseURL, model, ...(apiKeyEnv ? { apiKeyEnv } : {}) })),
    task: { path: taskPath, type: 'multiple_choice', devLimit: 20, testLimit: 40, devFraction: 0.5 },
    roleStep: { particles: 4 },
    maxIterations: 3,
    seed: 42,
  };

  // The dev server: reuse a running one, else start one for the demo (stopped at the end).
  let server: ReturnType<typeof spawnDevServer> | undefined;
  try {
    await waitForServer(env.temporalAddress, 1_500);
  } catch {
    const [host, port] = env.temporalAddress.split(':');
    if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`no Temporal server at ${env.temporalAddress}`);
    server = spawnDevServer({ dbFile: path.join(env.home, 'temporal.db'), port: Number(port), logFile: path.join(env.home, 'temporal.log') }, false);
    await waitForServer(env.temporalAddress, 30_000, () => isAlive(server!.pid!));
    console.log(`Temporal dev server on ${env.temporalAddress} (Web UI http://127.0.0.1:${Number(port) + 1000})`);
  }
  Runtime.install({ logger: new DefaultLogger('WARN') }); // the progress line is the demo's output
  const connection = await NativeConnection.connect({ address: env.temporalAddress });
  const workers = await createWorkers({ connection, namespace: env.namespace, deps: createRealDeps(env) });
  const running = workers.map((w) => w.run());
  const started = Date.now();
  try {
    return await withClient(env, async (client) => {
      try {
        await client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId('demo'), args: [config] });
        console.log(`study "demo": ${config.models.length} models, 4 graph particles, ${config.maxIterations} iterations on ${taskPath}`);
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
        console.log('study "demo" is already running; watching it');
      }
      const report = await watch(client, 'demo');
      console.log(reportText(report));
      console.log(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s; Web UI: http://127.0.0.1:8233/namespaces/${env.namespace}/workflows/${encodeURIComponent(studyWorkflowId('demo'))}`);
      return 0;
    });
  } finally {
    workers.forEach((w) => w.shutdown());
    await Promise.allSettled(running);
    await connection.close();
    server?.kill('SIGTERM');
  }
}
