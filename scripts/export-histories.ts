/**
 * Records the replay fixtures in test/fixtures/histories/ (`npm run histories`; see test/replay/README.md).
 *
 * Runs small studies from start to finish on a local Temporal server (the project-installed CLI) against fake
 * OpenAI / vLLM servers — role-only, joint (role + weight step), paused/resumed, continued-as-new — and saves the
 * history of every execution worth replaying, one JSON file each (`temporal workflow show -o json` format).
 * Seeds are fixed, so re-running gives the same command sequences (event timestamps and run ids differ).
 *
 * Existing fixtures are never overwritten by default: they are histories recorded by OLDER workflow code and must
 * keep replaying. After a workflow change, add new ones next to them with `npm run histories -- --suffix <tag>`
 * (files `<name>--<tag>.json`); `--force` re-records the files of that suffix in place. `--only a,b` records just
 * the named fixtures (e.g. the ones a new workflow type brings).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createRealDeps } from '../workers/deps';
import type { SearchConfigInput } from '../workflows/core/config';
import { baselinesWorkflowId, ORCHESTRATOR_TASK_QUEUE, roleStepWorkflowId, studyWorkflowId, weightStepWorkflowId } from '../workflows/core/names';
import { pauseSignal, resumeSignal, seedUpdate, statusQuery } from '../workflows/messages';
import type { SearchReport } from '../workflows/search.workflow';
import { answerKey, writeGgufAdapter } from '../test/helpers/adapters';
import { meanForSkill, startFakeVllm } from '../test/helpers/fake-vllm';
import { TINY_TASK, tinyStudy } from '../test/helpers/study';
import { startLocalTemporal, tempDir, withWorkers } from '../test/helpers/temporal';
import { until } from '../test/helpers/wait';

export const HISTORIES_DIR = path.resolve(__dirname, '../test/fixtures/histories');

/** The fixtures one run records (the continue-as-new chain has 2 runs with maxIterations 2). */
const FIXTURES = [
  'swarmSearch-role-only',
  'roleStep-role-only-iteration-1',
  'swarmSearch-joint',
  'roleStep-joint-iteration-1',
  'weightStep-joint-iteration-0',
  'weightStep-joint-iteration-1',
  'swarmSearch-paused-resumed',
  'swarmSearch-continued-as-new-run-1',
  'swarmSearch-continued-as-new-run-2',
  'swarmSearch-baselines',
  'baselines-joint',
  'swarmSearch-seeded',
] as const;
type FixtureName = (typeof FIXTURES)[number];

function parseArgs(argv: string[]): { suffix: string; force: boolean; only: readonly FixtureName[] } {
  let suffix = '';
  let force = false;
  let only: readonly FixtureName[] = FIXTURES;
  const usage = (bad: string | undefined): Error => new Error(`usage: npm run histories -- [--suffix <tag>] [--force] [--only name,name]  (bad argument ${bad})`);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--force') force = true;
    else if (argv[i] === '--suffix' && /^[A-Za-z0-9._-]+$/.test(argv[i + 1] ?? '')) suffix = `--${argv[++i]}`;
    else if (argv[i] === '--only' && argv[i + 1] !== undefined) {
      const names = argv[++i]!.split(',');
      const unknown = names.find((n) => !(FIXTURES as readonly string[]).includes(n));
      if (unknown !== undefined) throw usage(`--only ${unknown}: fixtures are ${FIXTURES.join(', ')}`);
      only = names as FixtureName[];
    } else throw usage(argv[i]);
  }
  return { suffix, force, only };
}

const { suffix, force, only } = parseArgs(process.argv.slice(2));
/** True when one of `names` is to be recorded: the run that makes them is needed. */
const wanted = (...names: FixtureName[]): boolean => names.some((n) => only.includes(n));
const fixtureFile = (name: FixtureName): string => path.join(HISTORIES_DIR, `${name}${suffix}.json`);

async function saveHistory(client: Client, name: FixtureName, workflowId: string, runId?: string): Promise<void> {
  if (!wanted(name)) return;
  const handle = client.workflow.getHandle(workflowId, runId);
  const json = historyToJSON(await handle.fetchHistory());
  const file = fixtureFile(name);
  fs.writeFileSync(file, `${JSON.stringify(JSON.parse(json), null, 1)}\n`);
  console.log(`${path.relative(process.cwd(), file)}  ${(fs.statSync(file).size / 1024).toFixed(1)} KiB  (${workflowId})`);
}

/** Run ids of a continue-as-new chain, first to last, by following each run's ContinuedAsNew event. */
async function chainRunIds(client: Client, workflowId: string, firstRunId: string): Promise<string[]> {
  const runs = [firstRunId];
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runs[runs.length - 1]).fetchHistory();
    const last = history.events?.[history.events.length - 1];
    const next = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next) return runs;
    runs.push(next);
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  const existing = only.map(fixtureFile).filter((f) => fs.existsSync(f));
  if (existing.length > 0 && !force) {
    throw new Error(
      `fixtures exist (${existing.map((f) => path.basename(f)).join(', ')}): they guard running studies and must keep replaying.\n` +
        'Add new ones next to them with `npm run histories -- --suffix <tag>`, or re-record these with --force.',
    );
  }

  const adapters = tempDir('replay-adapters');
  const initial = { alpha: path.join(adapters, 'alpha.gguf'), beta: path.join(adapters, 'beta.gguf') };
  await writeGgufAdapter(initial.alpha, meanForSkill(0.2), 1);
  await writeGgufAdapter(initial.beta, meanForSkill(0.8), 2);
  const [env, fake] = await Promise.all([
    startLocalTemporal(),
    startFakeVllm({ answers: answerKey(TINY_TASK), initial: { 'fake-alpha': initial.alpha, 'fake-beta': initial.beta } }),
  ]);
  const { client } = env;
  const prefix = 'replay';
  try {
    const deps = createRealDeps({ home: tempDir('replay-home'), dataRoot: process.cwd() });
    await withWorkers(env, deps, async () => {
      const start = (config: SearchConfigInput): Promise<WorkflowHandleWithFirstExecutionRunId> =>
        client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(config.study), args: [config] });
      const small = (study: string, overrides: Partial<SearchConfigInput> = {}): SearchConfigInput =>
        tinyStudy(study, fake.baseURL, { roleStep: { particles: 2 }, maxIterations: 2, ...overrides });

      // (a) Role-only study: 2 iterations, and its role step of iteration 1.
      const roleOnly = `${prefix}-role-only`;
      if (wanted('swarmSearch-role-only', 'roleStep-role-only-iteration-1')) {
        await (await start(small(roleOnly))).result();
        await saveHistory(client, 'swarmSearch-role-only', studyWorkflowId(roleOnly));
        await saveHistory(client, 'roleStep-role-only-iteration-1', roleStepWorkflowId(roleOnly, 1));
      }

      // (b) Joint study: 2 GGUF adapter models (one weight swarm) + 1 fixed model; role and weight steps.
      const joint = `${prefix}-joint`;
      const gguf = (id: keyof typeof initial) => ({ id, baseURL: fake.baseURL, model: `fake-${id}`, adapter: { path: initial[id], format: 'gguf' as const, base: 'fake-gguf-base' } });
      const jointConfig: SearchConfigInput = {
        ...small(joint, { maxIterations: 1, seed: 11 }),
        models: [gguf('alpha'), gguf('beta'), { id: 'epsilon', baseURL: fake.baseURL, model: 'fake-epsilon' }],
        weightStep: { assignments: 2 },
      };
      if (wanted('swarmSearch-joint', 'roleStep-joint-iteration-1', 'weightStep-joint-iteration-0', 'weightStep-joint-iteration-1')) {
        const jointReport = (await (await start(jointConfig)).result()) as SearchReport;
        if (jointReport.models === null) throw new Error('the joint study ran no weight step');
        await saveHistory(client, 'swarmSearch-joint', studyWorkflowId(joint));
        await saveHistory(client, 'roleStep-joint-iteration-1', roleStepWorkflowId(joint, 1));
        await saveHistory(client, 'weightStep-joint-iteration-0', weightStepWorkflowId(joint, 0));
        await saveHistory(client, 'weightStep-joint-iteration-1', weightStepWorkflowId(joint, 1));
      }

      // (e) Baselines (all four) before a joint study: the `baselines` child publishes nothing itself but
      // evaluates the initial adapter versions.
      if (wanted('swarmSearch-baselines', 'baselines-joint')) {
        const withBaselines = `${prefix}-baselines`;
        const report = (await (await start({ ...jointConfig, study: withBaselines, baselines: ['single', 'chain', 'star', 'vote'] })).result()) as SearchReport;
        if (report.baselines?.vote === undefined) throw new Error('the study ran no vote baseline');
        await saveHistory(client, 'swarmSearch-baselines', studyWorkflowId(withBaselines));
        await saveHistory(client, 'baselines-joint', baselinesWorkflowId(withBaselines));
      }

      // (f) `seed` updates while paused after the initialisation: a graph, and an adapter for alpha (its import,
      // zero velocity and publication run as activities of the study workflow), applied at iteration 1.
      if (wanted('swarmSearch-seeded')) {
        const seeded = `${prefix}-seeded`;
        const seedFile = path.join(adapters, 'alpha-seed.gguf');
        await writeGgufAdapter(seedFile, meanForSkill(0.9), 3);
        const handle = await start({ ...jointConfig, study: seeded });
        await handle.signal(pauseSignal);
        await until('paused after the initialisation', async () => {
          const s = await handle.query(statusQuery);
          return s.phase === 'paused' && s.currentStep === null && s.models?.[0]?.jfk !== null;
        });
        await handle.executeUpdate(seedUpdate, { args: [{ edges: [['alpha', 'beta']] }] });
        await handle.executeUpdate(seedUpdate, { args: [{ model: 'alpha', adapter: seedFile }] });
        await handle.signal(resumeSignal);
        await handle.result();
        await saveHistory(client, 'swarmSearch-seeded', studyWorkflowId(seeded));
      }

      // (c) Paused and resumed: the pause arrives during the initial evaluation, so the study waits before
      // iteration 1 until it is resumed, then runs to the end.
      const paused = `${prefix}-paused-resumed`;
      if (!wanted('swarmSearch-paused-resumed', 'swarmSearch-continued-as-new-run-1', 'swarmSearch-continued-as-new-run-2')) return;
      const handle = await start(small(paused));
      await handle.signal(pauseSignal);
      await until('paused', async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'paused' && s.currentStep === null;
      });
      if ((await handle.query(statusQuery)).iteration >= 2) throw new Error('the study finished before it paused');
      await new Promise((r) => setTimeout(r, 500));
      await handle.signal(resumeSignal);
      await handle.result();
      await saveHistory(client, 'swarmSearch-paused-resumed', studyWorkflowId(paused));

      // (d) Continue-as-new after every iteration: every run of the chain.
      const chained = `${prefix}-continued-as-new`;
      const chainHandle = await start(small(chained, { continueAsNewEvery: 1 }));
      await chainHandle.result();
      const runs = await chainRunIds(client, studyWorkflowId(chained), chainHandle.firstExecutionRunId);
      if (runs.length !== 2) throw new Error(`expected a continue-as-new chain of 2 runs, got ${runs.length} run(s)`);
      for (const [i, runId] of runs.entries()) await saveHistory(client, `swarmSearch-continued-as-new-run-${i + 1}` as FixtureName, studyWorkflowId(chained), runId);
    });
  } finally {
    await Promise.all([env.teardown(), fake.close()]);
    fs.rmSync(adapters, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
