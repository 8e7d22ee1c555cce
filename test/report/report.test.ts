/**
 * `hs report`: the HTML page of a real small joint study (role + weight steps, real local Temporal server, fake
 * vLLM whose answers depend on the adapters; with its best single / chain / star / vote baselines) and of another
 * study on the same task named with `--baseline`, opened in real headless
 * Chromium (Debian `chromium`, installed by scripts/setup.sh): a screenshot that is not blank, the rendered DOM
 * with the chart SVGs and the DAG with every model's label, and no console or network errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createFsLedger } from '../../activities/ledger';
import { reportInput, studyReport } from '../../scripts/commands/report';
import { reportHtml } from '../../scripts/report/html';
import { createRealDeps } from '../../workers/deps';
import type { SearchConfigInput } from '../../workflows/core/config';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import { answerKey, writeGgufAdapter } from '../helpers/adapters';
import { meanForSkill, startFakeVllm, type FakeVllm } from '../helpers/fake-vllm';
import { inkStats, readPng } from '../helpers/png';
import { TINY_TASK } from '../helpers/study';
import { startLocalTemporal, tempDir, withWorkers } from '../helpers/temporal';
import { until } from '../helpers/wait';
import { pauseSignal, statusQuery } from '../../workflows/messages';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const CHROMIUM = process.env.HS_CHROMIUM ?? 'chromium';

/** Runs headless Chromium on a file URL; returns stdout and the browser log (stderr). */
async function chromium(profile: string, args: string[], url: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(
      CHROMIUM,
      ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', ...args, url],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`headless Chromium not found ("${CHROMIUM}"): run \`bash scripts/setup.sh\` (apt-get install -y --no-install-recommends chromium) or set HS_CHROMIUM`);
    }
    throw e;
  }
}

/** Browser log lines that mean the page misbehaved: console messages, failed loads. */
const pageProblems = (log: string): string[] => log.split('\n').filter((l) => /:CONSOLE[:(]|net::ERR_|Uncaught/.test(l));

describe('hs report: the HTML page of a study, in headless Chromium', function () {
  this.timeout(300_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeVllm;
  const adapters = tempDir('report-adapters');
  const initial = { alpha: path.join(adapters, 'alpha.gguf'), beta: path.join(adapters, 'beta.gguf') };
  const price = { promptPerMillion: 2, completionPerMillion: 8 };

  before(async () => {
    await writeGgufAdapter(initial.alpha, meanForSkill(0.2), 1);
    await writeGgufAdapter(initial.beta, meanForSkill(0.8), 2);
    [env, fake] = await Promise.all([
      startLocalTemporal(),
      startFakeVllm({ answers: answerKey(TINY_TASK), initial: { 'fake-alpha': initial.alpha, 'fake-beta': initial.beta } }),
    ]);
  });
  after(async () => {
    await Promise.all([env?.teardown(), fake?.close()]);
  });

  const jointStudy = (study: string): SearchConfigInput => {
    const gguf = (id: keyof typeof initial) => ({ id, baseURL: fake.baseURL, model: `fake-${id}`, price, adapter: { path: initial[id], format: 'gguf' as const, base: 'fake-gguf-base' } });
    return {
      study,
      models: [gguf('alpha'), gguf('beta'), { id: 'gamma', baseURL: fake.baseURL, model: 'fake-gamma', price }],
      task: { path: TINY_TASK, type: 'multiple_choice' },
      roleStep: { particles: 3 },
      weightStep: { assignments: 3 },
      maxIterations: 2,
      seed: 5,
      evaluation: { heartbeatTimeoutSeconds: 5 },
    };
  };
  /** A baseline on the same task: the fixed models only, no search (the initial graphs, then test). */
  const baselineStudy = (study: string): SearchConfigInput => ({
    study,
    models: [
      { id: 'gamma', baseURL: fake.baseURL, model: 'fake-gamma', price },
      { id: 'delta', baseURL: fake.baseURL, model: 'fake-delta', price },
    ],
    task: { path: TINY_TASK, type: 'multiple_choice' },
    roleStep: { particles: 2 },
    maxIterations: 0,
    seed: 5,
    evaluation: { heartbeatTimeoutSeconds: 5 },
    baselines: [],
  });

  it('draws convergence, the best DAG, JFK-scores, cost, test vs baseline and the Web UI link; Chromium renders it', async () => {
    const started = Date.now();
    const home = tempDir('report');
    const [study, baseline] = ['report-joint', 'report-baseline'];
    const execute = (config: SearchConfigInput) =>
      env.client.workflow.execute('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(config.study), args: [config] }) as Promise<SearchReport>;
    const [report] = await withWorkers(env, createRealDeps({ home, dataRoot: process.cwd() }), () => Promise.all([execute(jointStudy(study)), execute(baselineStudy(baseline))]));
    assert.ok(report.summaries.some((s) => s.jfk !== undefined), 'the study ran weight steps');

    // What `hs report` does: the finished study's result from the server, the ledger, the baseline's ledger.
    const fetched = await studyReport(env.client, study);
    assert.ok(typeof fetched !== 'string', typeof fetched === 'string' ? fetched : '');
    assert.deepEqual(fetched, { report, running: null });
    const ledger = createFsLedger(path.join(home, 'ledger'));
    const input = await reportInput(report, ledger, { baselines: [baseline], uiBase: 'http://ui.example:8080/', namespace: env.namespace ?? 'default' });
    const html = await reportHtml(input);
    const file = path.join(home, 'report.html');
    fs.writeFileSync(file, html);

    // Self-contained: no script, no stylesheet or image fetched from anywhere.
    assert.ok(!/<script|<link|<img|<iframe|\bsrc=|url\((?!#)/i.test(html), 'no external resources');
    assert.ok(html.includes(`href="http://ui.example:8080/namespaces/${encodeURIComponent(env.namespace ?? 'default')}/workflows/hs%2F${study}"`), 'the Web UI link');
    const b = input.baselines[0]!;
    assert.equal(b.study, baseline);
    assert.ok(b.testScore !== null && b.sameTask, 'the baseline’s own test evaluation, same task');
    assert.ok(html.includes(`study ${baseline}`) && html.includes(b.testScore.toFixed(4)));
    // The study's own baselines (the config default: all four), each row with its test score.
    const own = report.baselines;
    assert.ok(own !== null && own.chain && own.star && own.vote, 'the study ran every baseline');
    for (const [name, score] of [[`best single (${own.bestSingle})`, own.singles.find((s) => s.models[0] === own.bestSingle)!.test], ['chain', own.chain.test], [`star (hub ${own.bestSingle})`, own.star.test], ['vote', own.vote.test]] as const) {
      assert.match(html, new RegExp(`<tr><td>${name.replace(/[()]/g, '\\$&')}</td><td>[^<]*</td><td>${score.toFixed(4)}</td>`), `test row of ${name}`);
    }
    assert.ok(!html.includes('id="no-baselines"'));
    const callsInLedger = input.entries.reduce((s, e) => s + e.usage.calls, 0);
    assert.equal(callsInLedger, report.counters.calls, 'the cost chart’s calls add up to the study’s counters');
    assert.ok(report.counters.costUsd > 0);

    // The command itself, as a user types it, against the same server and ledger.
    const cliOut = path.join(home, 'cli-report.html');
    const cli = await run(process.execPath, [path.join(REPO, 'bin/hs.js'), 'report', study, '--out', cliOut, '--baseline', baseline], {
      cwd: REPO,
      env: { ...process.env, HS_HOME: home, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default', HS_TEMPORAL_UI: 'http://ui.example:8080' },
      timeout: 120_000,
    });
    assert.match(cli.stdout, /cli-report\.html: report of "report-joint" \(\d+ ledger entries, 1 baseline\(s\)\)/);
    const cliHtml = fs.readFileSync(cliOut, 'utf8');
    assert.equal(cliHtml.replace(/Generated [^ ]+ by/, ''), html.replace(/Generated [^ ]+ by/, ''), 'the CLI writes the same page');
    const missing = await run(process.execPath, [path.join(REPO, 'bin/hs.js'), 'report', 'no-such-study'], {
      cwd: REPO,
      env: { ...process.env, HS_HOME: home, TEMPORAL_ADDRESS: env.address },
    }).then(
      () => 'exit 0',
      (e: { code?: number; stderr?: string }) => `exit ${e.code} ${e.stderr ?? ''}`,
    );
    assert.match(missing, /^exit 1 no study "no-such-study" on this server/, 'an unknown study fails, named');

    // Without baselines the page says so.
    const alone = await reportHtml(await reportInput({ ...report, baselines: null }, ledger, {}));
    assert.ok(alone.includes('id="no-baselines"') && alone.includes('ran no baselines') && !alone.includes('id="test-chart"'));

    // Real headless Chromium: the rendered DOM, the browser log, a screenshot.
    const url = `file://${file}`;
    const dom = await chromium(path.join(home, 'chromium-dom'), ['--dump-dom'], url);
    const screenshot = path.join(home, 'report.png');
    const shot = await chromium(path.join(home, 'chromium-shot'), [`--screenshot=${screenshot}`, '--window-size=1200,3000', '--hide-scrollbars'], url);
    assert.deepEqual([...pageProblems(dom.stderr), ...pageProblems(shot.stderr)], [], 'no console messages or failed loads');

    const rendered = dom.stdout;
    for (const id of ['convergence', 'jfk', 'usage', 'test-chart']) {
      assert.match(rendered, new RegExp(`<figure id="${id}"><svg[^>]*class="marks"`), `the ${id} chart SVG (Vega)`);
    }
    assert.ok(rendered.includes('role step: best particle') && rendered.includes('weight step: best assignment'), 'convergence legend: role vs weight step');
    const dag = /<figure id="dag">(<svg[\s\S]*?<\/svg>)/.exec(rendered)?.[1];
    assert.ok(dag !== undefined, 'the DAG SVG');
    const models = [...new Set(report.best.order.map((n) => n.split('#')[0]!))];
    for (const model of models) assert.ok(dag.includes(`data-model="${model}"`) && dag.includes(`>${model}</text>`), `DAG node labelled ${model}`);
    assert.equal((dag.match(/class="dag-node"/g) ?? []).length, report.best.order.length);
    assert.equal((dag.match(/class="dag-edge"/g) ?? []).length, report.best.edges.length);
    assert.ok(dag.includes('final answer'), 'the sink is marked');
    for (const m of report.models ?? []) assert.ok(rendered.includes(`>${m.id}</th>`), `JFK table column ${m.id}`);

    const png = readPng(fs.readFileSync(screenshot));
    assert.deepEqual([png.width, png.height], [1200, 3000]);
    const ink = inkStats(png);
    assert.ok(ink.ink / ink.total > 0.02, `the screenshot is not blank (${ink.ink} of ${ink.total} pixels not white)`);
    assert.ok(ink.coloured > 2000, `coloured chart/graph marks visible (${ink.coloured} coloured pixels)`);

    const kept = path.join(REPO, '.hs', 'report-screenshot.png');
    fs.mkdirSync(path.dirname(kept), { recursive: true });
    fs.copyFileSync(screenshot, kept);
    console.log(`      report ${file}\n      screenshot ${screenshot}\n      copied to ${kept} (${ink.ink} non-white px, ${ink.coloured} coloured; ${((Date.now() - started) / 1000).toFixed(1)}s)`);
  });

  it('draws a running study from its `report` query: a snapshot without the test evaluation', async () => {
    const home = tempDir('report-running');
    const study = 'report-running';
    const config: SearchConfigInput = { ...baselineStudy(study), maxIterations: 50, patience: 1000 };
    await withWorkers(env, createRealDeps({ home, dataRoot: process.cwd() }), async () => {
      const handle = await env.client.workflow.start('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId(study), args: [config] });
      try {
        await until('iteration 1', async () => (await handle.query(statusQuery)).iteration >= 1);
        await handle.signal(pauseSignal);
        await until('paused between iterations', async () => {
          const s = await handle.query(statusQuery);
          return s.phase === 'paused' && s.currentStep === null;
        });
        const status = await handle.query(statusQuery);
        const found = await studyReport(env.client, study);
        assert.ok(typeof found !== 'string', typeof found === 'string' ? found : '');
        const { report, running } = found;
        assert.deepEqual(running, { phase: 'paused', iteration: status.iteration, maxIterations: 50 });
        assert.equal(report.stoppedBy, null);
        assert.deepEqual([report.iterations, report.best.devScore, report.best.testScore, report.best.test], [status.iteration, status.bestDevScore, null, null]);
        assert.equal(report.summaries.length, status.iteration + 1, 'one summary per iteration so far');
        assert.deepEqual(report.counters, status.counters);

        const html = await reportHtml(await reportInput(report, createFsLedger(path.join(home, 'ledger')), { running: running ?? undefined }));
        assert.match(html, /<p class="note" id="running">Running \(paused\): \d+ of at most 50 iteration\(s\) done/);
        assert.match(html, /<figure id="convergence"><svg/);
        assert.match(html, /<tr><td>searched system \(best\)<\/td><td>[^<]*<\/td><td>—<\/td><td>—<\/td><td>this study; tested when it ends<\/td>/);

        const cli = await run(process.execPath, [path.join(REPO, 'bin/hs.js'), 'report', study, '--out', path.join(home, 'running.html')], {
          cwd: REPO,
          env: { ...process.env, HS_HOME: home, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default' },
          timeout: 120_000,
        });
        assert.match(cli.stdout, new RegExp(`report of "${study}" \\(\\d+ ledger entries, 0 baseline\\(s\\), running: paused, iteration ${status.iteration} of 50\\)`));
      } finally {
        await handle.terminate('test done');
      }
    });
  });
});

