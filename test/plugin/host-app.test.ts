/**
 * examples/host-app as a separate process, against a real local Temporal server and the fake OpenAI server: a
 * host application with its own Client, Worker, task queue and workflow adds Heterogeneous Swarms with one
 * plugin line on each, and tunes a pool of models through a child study — sealed with our payload codec.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TuningSummary } from '../../examples/host-app/workflows';
import { ENCRYPTED_ENCODING } from '../../workers/codec';
import { HeterogeneousSwarmsPlugin, studyWorkflowId, type SearchReport } from '../../workers/plugin';
import type { FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy, TINY_TASK } from '../helpers/study';
import { useTemporalAndFake, tempDir } from '../helpers/temporal';

const REPO = path.resolve(__dirname, '../..');
const HOST_APP = path.join(REPO, 'examples/host-app/main.ts');

describe('examples/host-app: HeterogeneousSwarmsPlugin in a host application (real Temporal server, fake OpenAI)', function () {
  this.timeout(300_000);
  let env: TestWorkflowEnvironment;
  let fake: FakeOpenAi;
  useTemporalAndFake((e, f) => {
    env = e;
    fake = f;
  });

  it("runs a study from the host's own workflow: ours on hs, the host's on its queue, every payload sealed", async () => {
    const home = tempDir('host-app');
    const key = randomBytes(32).toString('base64');
    const configFile = path.join(home, 'study.json');
    fs.writeFileSync(configFile, JSON.stringify(tinyStudy('host-app', fake.baseURL, { maxIterations: 1 })));
    const sent = fake.requests.length;

    const { stdout } = await promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', HOST_APP, configFile], {
      cwd: REPO,
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, HS_HOME: home, HS_DATA_ROOT: REPO, HS_PAYLOAD_KEY: key },
      timeout: 240_000,
    });
    const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '') as TuningSummary;
    assert.equal(summary.study, 'host-app');
    assert.ok(summary.calls > 0);
    assert.equal(summary.calls, fake.requests.length - sent, 'every paid call reached the endpoint once');
    assert.ok(['alpha', 'beta', 'gamma'].includes(summary.sink));
    assert.equal(summary.edges.length, 2, 'an in-tree over 3 models');

    // The host's workflow ran on the host's queue; the study, its child, on ours, with its own children.
    const host = await env.client.workflow.getHandle('host-app/host-app').describe();
    assert.equal(host.taskQueue, 'host-app');
    assert.equal(host.status.name, 'COMPLETED');
    const study = await env.client.workflow.getHandle(studyWorkflowId('host-app')).describe();
    assert.equal(study.taskQueue, 'hs');
    assert.equal(study.parentExecution?.workflowId, 'host-app/host-app');
    assert.equal((await env.client.workflow.getHandle('hs/host-app/role-1').describe()).status.name, 'COMPLETED');
    assert.ok(fs.readdirSync(path.join(home, 'ledger', 'host-app')).length > 0, "the plugin's stores live in the host's HS_HOME");

    // The server holds only sealed payloads; a Client with the plugin and the same key reads the report.
    const raw = historyToJSON(await env.client.workflow.getHandle(studyWorkflowId('host-app')).fetchHistory());
    assert.ok(raw.includes(Buffer.from(ENCRYPTED_ENCODING).toString('base64')), 'payloads are sealed');
    for (const clear of [TINY_TASK, 'fake-alpha']) assert.ok(!raw.includes(clear) && !raw.includes(Buffer.from(clear).toString('base64')), `"${clear}" is not in the history`);
    const client = new Client({ connection: env.connection, plugins: [new HeterogeneousSwarmsPlugin({ payloadKey: key, home })] });
    const report = (await client.workflow.getHandle(studyWorkflowId('host-app')).result()) as SearchReport;
    assert.equal(report.best.devScore, summary.bestDevScore);
    assert.equal(report.best.testScore, summary.testScore);
  });
});
