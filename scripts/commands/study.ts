/** `hs start|status|pause|resume|stop|result`: a study is addressed by name; its workflow id is `hs/<study>`. */
import { parseArgs } from 'node:util';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { readEnv, type HsEnv } from '../../workers/env';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import { pauseSignal, progressQuery, resumeSignal, statusQuery, stopUpdate, type StatusView } from '../../workflows/messages';
import type { SearchReport } from '../../workflows/search.workflow';
import { withClient } from '../client';
import { loadConfigFile, printProblems } from '../config-file';
import { baselineLines, modelLines, progressLine, reportText } from '../format';
import { dryRun } from './dry-run';

const handleOf = (client: Client, study: string): WorkflowHandle => client.workflow.getHandle(studyWorkflowId(study));

/** Polls `status` (and the running child's `progress`) until the study closes, printing a live line. */
export async function watch(client: Client, study: string, intervalMs = 1000): Promise<SearchReport> {
  const handle = handleOf(client, study);
  const result = handle.result() as Promise<SearchReport>;
  let finished = false;
  void result.then(
    () => (finished = true),
    () => (finished = true),
  );
  const tty = process.stdout.isTTY;
  let last = '';
  while (!finished) {
    try {
      const status: StatusView = await handle.query(statusQuery);
      const step = status.currentStep ? await client.workflow.getHandle(status.currentStep).query(progressQuery).catch(() => undefined) : undefined;
      const line = progressLine(status, step);
      if (line !== last) {
        process.stdout.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
        last = line;
      }
    } catch {
      // The run may be between continue-as-new hand-overs; try again.
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
  }
  if (tty) process.stdout.write('\n');
  return await result;
}

async function start(env: HsEnv, argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { wait: { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false } },
  });
  const file = positionals[0];
  if (file === undefined) {
    console.error('usage: hs start <config.json> [--wait | --dry-run]');
    return 2;
  }
  const loaded = loadConfigFile(file);
  if (!loaded.ok) {
    printProblems(file, loaded.problems);
    return 2;
  }
  if (values['dry-run']) return await dryRun(loaded.config, env.dataRoot);
  const { study } = loaded.config;
  return await withClient(env, async (client) => {
    try {
      await client.workflow.start('swarmSearch', {
        taskQueue: ORCHESTRATOR_TASK_QUEUE,
        workflowId: studyWorkflowId(study),
        args: [loaded.raw],
      });
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) {
        console.error(`study "${study}" is already running (workflow ${studyWorkflowId(study)}); watch it with \`npx hs status ${study}\``);
        return 1;
      }
      throw e;
    }
    console.log(`started study "${study}" as workflow ${studyWorkflowId(study)} on task queue ${ORCHESTRATOR_TASK_QUEUE}`);
    if (!values.wait) return 0;
    const report = await watch(client, study);
    console.log(reportText(report));
    return 0;
  });
}

export async function studyCommand(command: string, argv: string[]): Promise<number> {
  const env = readEnv();
  if (command === 'start') return await start(env, argv);
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  const study = positionals[0];
  if (study === undefined) {
    console.error(`usage: hs ${command} <study>`);
    return 2;
  }
  return await withClient(env, async (client) => {
    const handle = handleOf(client, study);
    switch (command) {
      case 'status': {
        const status = await handle.query(statusQuery);
        console.log(values.json ? JSON.stringify(status, null, 2) : progressLine(status));
        if (!values.json && status.bestGraph) console.log(`best graph: ${status.bestGraph.order.join(' → ')} (edges ${status.bestGraph.edges.map(([f, t]) => `${f}→${t}`).join(', ')})`);
        if (!values.json && status.models) console.log(['models:', ...modelLines(status.models)].join('\n'));
        if (!values.json && status.baselines) console.log(baselineLines(status.baselines, null).join('\n'));
        return 0;
      }
      case 'pause':
        await handle.signal(pauseSignal);
        console.log(`pause requested for "${study}" (takes effect after the current iteration)`);
        return 0;
      case 'resume':
        await handle.signal(resumeSignal);
        console.log(`resumed "${study}"`);
        return 0;
      case 'stop': {
        const { stopAfterIteration } = await handle.executeUpdate(stopUpdate);
        console.log(`"${study}" will stop after iteration ${stopAfterIteration}, then evaluate its best system on test`);
        return 0;
      }
      case 'watch':
      case 'result': {
        const report = command === 'watch' ? await watch(client, study) : ((await handle.result()) as SearchReport);
        console.log(values.json ? JSON.stringify(report, null, 2) : reportText(report));
        return 0;
      }
      default:
        console.error(`unknown command ${command}`);
        return 2;
    }
  });
}
