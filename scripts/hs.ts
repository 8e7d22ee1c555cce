/**
 * `npx hs <command>`: the command-line interface of Heterogeneous Swarms on Temporal.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { searchConfigJsonSchema } from '../workflows/core/config';
import { readEnv } from '../workers/env';
import { TASK_QUEUES } from '../workflows/core/names';
import type * as DepsModule from '../workers/deps';
import type * as TelemetryModule from '../workers/telemetry';
import type * as WorkerModule from '../workers/worker';
import { loadConfigFile, printProblems } from './config-file';
import { serverCommand } from './commands/server';
import type * as AuditModule from './commands/audit';
import type * as ControlModule from './commands/control';
import type * as DemoModule from './commands/demo';
import type * as LlmModule from './commands/llm';
import type * as PoolModule from './commands/pool';
import type * as ReportModule from './commands/report';
import { studyCommand } from './commands/study';

const USAGE = `usage: npx hs <command> [options]

  server start|stop|status [--db FILE]   embedded Temporal dev server (127.0.0.1:7233, Web UI :8233, SQLite)
  worker [--queues hs,hs-llm,hs-weights] run a worker (workflows + cheap activities on hs; model calls on hs-llm;
                                         adapter PSO updates and publishing on hs-weights)
  validate <config.json>                 check a study config; prints every problem with its path (exit 2)
  schema [--out FILE]                    the JSON Schema of study configs
  start <config.json> [--wait]           start a study (workflow hs/<study>); --wait shows live progress and the report
        <config.json> --dry-run          project calls, tokens and cost (per iteration and total); starts nothing
  status <study> [--json]                iteration, phase, best dev score, best graph, usage counters
  watch <study>                          live progress until the study ends, then the report
  pause|resume <study>                   pause after the current iteration / resume
  stop <study>                           finish after the current iteration, evaluate the best system on test
  configure <study> --set PATH=VALUE…    change PSO coefficients, weightStep.assignments, patience, maxIterations
            [--patch JSON]               or concurrency from the next iteration on (validated by the workflow)
  seed <study> --edges a>b,b>c | --matrix JSON [--particle K]
                                         inject a graph as a graph particle at the next iteration
       <study> --model ID --adapter PATH [--adapter-sha256 HEX]
                                         inject a LoRA adapter as model ID's particle and current version
                                         at the next iteration (a relative PATH is taken from the current
                                         directory; the weights workers must be able to read it)
  particles <study> [--json]             every particle: position summary, personal best, utility history
  result <study> [--json]                wait for and print the final report
  audit <study> [--out FILE] [--format jsonl|csv]
                                         the evaluation ledger joined with every workflow run of the study:
                                         one line per evaluation (scores, counts, tokens, latency, run id)
  report <study> [--out FILE.html] [--baseline <study>]… [--ui URL]
                                         a self-contained HTML page of a finished study: convergence, best DAG,
                                         JFK-scores, calls and cost, test score vs baseline studies, Web UI link
  transcript <key> [--json]              one evaluation's full message-passing transcript (key from audit)
  pool init [--experts 4] [--rank 8] [--seed 1]  LoRA experts of the embedded model (.hs/adapters/pool.json)
  llm serve [--port 8080] [--model N=F.gguf] [--lora N=F.gguf[@BASE]] [--roots D,D] [--threads N]
                                         the embedded OpenAI-compatible CPU server (node-llama-cpp)
  demo                                   a real study end to end on the embedded model (or HS_DEMO_BASE_URL + HS_DEMO_MODELS)

environment: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), HS_HOME (.hs), HS_DATA_ROOT (.),
             HS_METRICS_ADDRESS (worker Prometheus /metrics, e.g. 0.0.0.0:9464), HS_LOG_FORMAT (text|json), HS_LOG_LEVEL;
  a Temporal cluster or Temporal Cloud: TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH,
  TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY (the Temporal CLI's variables; *_DATA for inline PEM);
  worker concurrency: HS_MAX_WORKFLOW_TASKS (40), HS_MAX_CACHED_WORKFLOWS, HS_MAX_EVALUATIONS (32), HS_MAX_WEIGHT_UPDATES (4);
  HS_TEMPORAL_UI (http://127.0.0.1:8233, the Web UI that hs report links to)`;

/**
 * Loads a module on first use: the worker pulls in the SDK's native bridge and webpack, which `validate`,
 * `status` and friends do not need.
 */
function lazy<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server':
      return await serverCommand(rest);
    case 'worker': {
      const known = TASK_QUEUES;
      const { values } = parseArgs({ args: rest, options: { queues: { type: 'string', default: known.join(',') } } });
      const queues = values.queues.split(',').map((q) => q.trim());
      const unknown = queues.filter((q) => !(known as readonly string[]).includes(q));
      if (unknown.length > 0) {
        console.error(`unknown queue(s) ${unknown.join(', ')}; expected some of ${known.join(', ')}`);
        return 2;
      }
      // Loaded lazily: the worker pulls in the SDK's native bridge, which other commands do not need.
      const { installTelemetry, readTelemetryEnv } = lazy<typeof TelemetryModule>('../workers/telemetry');
      installTelemetry(readTelemetryEnv());
      const { runWorkers } = lazy<typeof WorkerModule>('../workers/worker');
      const { createRealDeps } = lazy<typeof DepsModule>('../workers/deps');
      const env = readEnv();
      await runWorkers(env, createRealDeps(env), queues as (typeof known)[number][]);
      return 0;
    }
    case 'validate': {
      const file = rest[0];
      if (file === undefined) {
        console.error('usage: hs validate <config.json>');
        return 2;
      }
      const loaded = loadConfigFile(file);
      if (!loaded.ok) {
        printProblems(file, loaded.problems);
        return 2;
      }
      const c = loaded.config;
      console.log(`${file}: valid — study "${c.study}", ${c.models.length} models, ${c.roleStep.particles} graph particles, up to ${c.maxIterations} iterations, task ${c.task.path} (${c.task.type}, ${c.task.scoring})`);
      return 0;
    }
    case 'schema': {
      const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } });
      const text = `${JSON.stringify(searchConfigJsonSchema(), null, 2)}\n`;
      if (values.out) fs.writeFileSync(values.out, text);
      else process.stdout.write(text);
      return 0;
    }
    case 'demo':
      return await lazy<typeof DemoModule>('./commands/demo').demoCommand();
    case 'llm':
      return await lazy<typeof LlmModule>('./commands/llm').llmCommand(rest);
    case 'audit':
    case 'transcript':
      return await lazy<typeof AuditModule>('./commands/audit').auditCommand(command, rest);
    case 'report':
      return await lazy<typeof ReportModule>('./commands/report').reportCommand(rest);
    case 'pool':
      return await lazy<typeof PoolModule>('./commands/pool').poolCommand(rest);
    case 'configure':
    case 'seed':
    case 'particles':
      return await lazy<typeof ControlModule>('./commands/control').controlCommand(command, rest);
    case 'start':
    case 'status':
    case 'watch':
    case 'pause':
    case 'resume':
    case 'stop':
    case 'result':
      return await studyCommand(command, rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
