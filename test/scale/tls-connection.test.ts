/**
 * Connecting through TLS as to a cluster or Temporal Cloud, for real: a dev server behind a TLS proxy that has its
 * own CA-signed certificate for the name `temporal.test`, demands a client certificate from that CA (mTLS) and an
 * API key. The CLI's client (`withClient`), the worker's `NativeConnection` and an `hs worker` process connect with
 * the settings from TEMPORAL_TLS_* / TEMPORAL_API_KEY alone; without the key or the client certificate they are
 * refused. Certificates are made with `openssl` (the test is skipped without it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { withClient } from '../../scripts/client';
import { readEnv } from '../../workers/env';
import { temporalConnectionOptions } from '../../workers/temporal-connection';
import { startDevServerProcess, type DevServerProcess } from '../helpers/dev-server-process';
import { tempDir } from '../helpers/temporal';
import { startTlsGrpcProxy, type TlsGrpcProxy } from '../helpers/tls-grpc-proxy';
import { WorkerProcesses } from '../helpers/worker-processes';

const API_KEY = 'hs-test-api-key-9d2e71';
const SERVER_NAME = 'temporal.test';

const EXTENSIONS = `[server]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:${SERVER_NAME}
[client]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
`;

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A CA, a server certificate for SERVER_NAME and a client certificate, all EC P-256 PEM files in `dir`. */
function makeCertificates(dir: string): void {
  fs.writeFileSync(path.join(dir, 'ext.cnf'), EXTENSIONS);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, ['req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=hs-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  for (const name of ['server', 'client']) {
    openssl(dir, ['req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=hs-${name}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'ext.cnf', '-extensions', name]);
  }
}

describe('a Temporal server behind TLS: mTLS, private CA, server name and API key from the environment', function () {
  this.timeout(120_000);
  let devServer: DevServerProcess;
  let proxy: TlsGrpcProxy;
  const certs = tempDir('tls-certs');
  const workers = new WorkerProcesses(() => proxy.address);

  before(async function () {
    if (spawnSync('openssl', ['version']).status !== 0) this.skip();
    makeCertificates(certs);
    devServer = await startDevServerProcess('tls');
    const read = (f: string) => fs.readFileSync(path.join(certs, f));
    proxy = await startTlsGrpcProxy({ backend: devServer.address, key: read('server.key'), cert: read('server.pem'), clientCa: read('ca.pem'), apiKey: API_KEY });
  });
  after(async () => {
    await workers.stopAll();
    await proxy?.close();
    await devServer?.close();
  });

  /** The environment of a worker or CLI host: everything but the address and namespace comes from files in `certs`. */
  const tlsEnv = (extra: Record<string, string | undefined> = {}): Record<string, string> => {
    const env: Record<string, string | undefined> = {
      TEMPORAL_ADDRESS: proxy.address,
      TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(certs, 'client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(certs, 'client.key'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(certs, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
      TEMPORAL_API_KEY: API_KEY,
      ...extra,
    };
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  };

  it('the CLI client, a worker connection and an `hs worker` process get through', async () => {
    const env = readEnv(tlsEnv());
    const info = await withClient(env, (client) => client.workflowService.getSystemInfo({}));
    assert.ok(info.capabilities, 'the server answered the client');

    const native = await NativeConnection.connect(temporalConnectionOptions(env.temporal));
    try {
      assert.ok((await native.workflowService.getSystemInfo({})).capabilities, 'the server answered the worker connection');
    } finally {
      await native.close();
    }

    const worker = workers.spawn(tempDir('tls-home'), { queues: 'hs-llm', env: tlsEnv() });
    const line = await workers.polling(worker, 60_000);
    assert.match(line, new RegExp(`polling hs-llm \\(32 evaluations\\) on ${proxy.address} \\(namespace default; TLS, client certificate, own server CA, server name ${SERVER_NAME}; API key\\)`));
    await workers.until('the worker to poll through the proxy', () => proxy.calls.some((c) => c.path.endsWith('/PollActivityTaskQueue')), { timeoutMs: 30_000 });
    await workers.stop(worker, 'SIGTERM');

    assert.ok(proxy.calls.length > 2);
    assert.ok(proxy.calls.every((c) => c.authorization === `Bearer ${API_KEY}` && c.clientCn === 'hs-client'), 'every call carried the API key and the client certificate');
    assert.ok(!workers.output().includes(API_KEY), 'the worker never printed the API key');
  });

  it('checks the server: refused without our CA or under another server name', async () => {
    const before = proxy.calls.length;
    await assert.rejects(NativeConnection.connect(temporalConnectionOptions(readEnv(tlsEnv({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: undefined })).temporal)));
    await assert.rejects(NativeConnection.connect(temporalConnectionOptions(readEnv(tlsEnv({ TEMPORAL_TLS_SERVER_NAME: 'elsewhere.test' })).temporal)));
    await assert.rejects(withClient(readEnv(tlsEnv({ TEMPORAL_TLS_SERVER_NAME: 'elsewhere.test' })), (client) => client.workflowService.getSystemInfo({})));
    assert.equal(proxy.calls.length, before, 'no call reached the server');
  });

  it('is refused without the API key, with another one, or without the client certificate', async () => {
    await assert.rejects(
      withClient(readEnv(tlsEnv({ TEMPORAL_API_KEY: undefined })), (client) => client.workflowService.getSystemInfo({})),
      /^Error: cannot reach Temporal at .*; TLS, client certificate.*UNAUTHENTICATED: invalid API key; check TEMPORAL_ADDRESS/,
    );
    await assert.rejects(NativeConnection.connect(temporalConnectionOptions(readEnv(tlsEnv({ TEMPORAL_API_KEY: 'another-key' })).temporal)), /invalid API key/);
    const noCert = readEnv(tlsEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: undefined, TEMPORAL_TLS_CLIENT_KEY_PATH: undefined }));
    const before = proxy.calls.length;
    await assert.rejects(NativeConnection.connect(temporalConnectionOptions(noCert.temporal)));
    assert.equal(proxy.calls.length, before, 'without a client certificate the TLS handshake fails before any call');
  });
});
