/**
 * Payload encryption (workers/codec.ts): the codec itself, and a whole study run with it on the workers and the
 * client — the server's history then holds only sealed payloads, while the client reads the report in clear.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createAesGcmCodec, dataConverterFor, ENCRYPTED_ENCODING, parsePayloadKey } from '../../workers/codec';
import { createRealDeps } from '../../workers/deps';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { SearchReport } from '../../workflows/search.workflow';
import type { FakeOpenAi } from '../helpers/fake-openai';
import { tinyStudy, TINY_TASK } from '../helpers/study';
import { useTemporalAndFake, tempDir, withWorkers } from '../helpers/temporal';

const payload = (text: string): Payload => ({ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode(text) });

describe('payload encryption (AES-256-GCM codec)', function () {
  this.timeout(180_000);
  const key = randomBytes(32);

  it('round-trips payloads, seals them with a fresh IV, and refuses tampering and the wrong key', async () => {
    const codec = createAesGcmCodec(key);
    const original = [payload('{"study":"secret-plan"}'), payload('')];
    const sealed = await codec.encode(original);
    assert.equal(new TextDecoder().decode(sealed[0]!.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.ok(!Buffer.from(sealed[0]!.data!).toString('latin1').includes('secret-plan'));
    assert.deepEqual(await codec.decode(sealed), original);
    assert.notDeepEqual((await codec.encode(original))[0]!.data, sealed[0]!.data, 'a fresh IV every time');
    const tampered = { ...sealed[0]!, data: Uint8Array.from(sealed[0]!.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await assert.rejects(codec.decode([tampered]));
    await assert.rejects(createAesGcmCodec(randomBytes(32)).decode(sealed), /encrypted with key .*check HS_PAYLOAD_KEY/);
    assert.deepEqual(await codec.decode([original[0]!]), [original[0]], 'unsealed payloads pass through');
  });

  it('parsePayloadKey takes exactly 32 bytes of base64', () => {
    assert.deepEqual(parsePayloadKey(key.toString('base64')), key);
    assert.throws(() => parsePayloadKey(randomBytes(16).toString('base64')), /32 random bytes in base64/);
    assert.throws(() => parsePayloadKey('not base64!'), /32 random bytes/);
  });

  describe('a study with encryption on', () => {
    let env: TestWorkflowEnvironment;
    let fake: FakeOpenAi;
    useTemporalAndFake((e, f) => {
      env = e;
      fake = f;
    });

    it('completes; the server stores only ciphertext; the client decodes the report', async () => {
      const dataConverter = dataConverterFor(key)!;
      const client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter });
      const config = tinyStudy('sealed', fake.baseURL, { maxIterations: 1 });
      const report = await withWorkers(
        env,
        createRealDeps({ home: tempDir('sealed'), dataRoot: process.cwd() }),
        async () => (await client.workflow.execute('swarmSearch', { taskQueue: ORCHESTRATOR_TASK_QUEUE, workflowId: studyWorkflowId('sealed'), args: [config] })) as SearchReport,
        { dataConverter },
      );
      assert.equal(report.study, 'sealed');
      // Read the raw history WITHOUT the codec: the task path and the model names never appear in clear.
      const raw = historyToJSON(await env.client.workflow.getHandle(studyWorkflowId('sealed')).fetchHistory());
      assert.ok(raw.includes(Buffer.from(ENCRYPTED_ENCODING).toString('base64')), 'payloads are sealed');
      for (const clear of [TINY_TASK, 'fake-alpha', 'multiple_choice']) {
        assert.ok(!raw.includes(clear) && !raw.includes(Buffer.from(clear).toString('base64')), `"${clear}" is not in the history`);
      }
    });
  });
});
