/**
 * The worker/CLI environment: per-queue concurrency knobs and the Temporal connection (address, namespace, TLS,
 * mTLS, API key) as the options objects handed to `Connection.connect` and `NativeConnection.connect`. No real
 * cluster is needed: the options are what the SDK receives.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { readEnv, type HsEnv } from '../../workers/env';
import { parsePluginOptions } from '../../workers/plugin-options';
import { describeTemporal, temporalConnectionOptions, unreachable } from '../../workers/temporal-connection';
import { concurrencyOf } from '../../workers/worker';
import { tempDir } from '../helpers/temporal';

const CERT = '-----BEGIN CERTIFICATE-----\nY2xpZW50\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n';
const CA = '-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n';
const SECRET = 'sentinel-api-key-4f1d9c';

/** Files of a client certificate, its key and a server CA in a fresh directory. */
function pemFiles(): { dir: string; cert: string; key: string; ca: string } {
  const dir = tempDir('tls');
  const files = { cert: path.join(dir, 'client.pem'), key: path.join(dir, 'client.key'), ca: path.join(dir, 'ca.pem') };
  fs.writeFileSync(files.cert, CERT);
  fs.writeFileSync(files.key, KEY);
  fs.writeFileSync(files.ca, CA);
  return { dir, ...files };
}

const invalid = (env: NodeJS.ProcessEnv, cwd?: string): string => {
  try {
    readEnv(env, cwd);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(Object.keys(env))} to be rejected`);
};

describe('workers/env: concurrency per task queue', () => {
  it('defaults: 32 evaluations, 4 weight activities, 40 workflow tasks, the SDK cache size', () => {
    const env = readEnv({}, '/x');
    assert.deepEqual(
      { e: env.maxEvaluations, w: env.maxWeightUpdates, t: env.maxWorkflowTasks, c: env.maxCachedWorkflows },
      { e: 32, w: 4, t: 40, c: undefined },
    );
    assert.deepEqual(concurrencyOf(env), { maxEvaluations: 32, maxWeightUpdates: 4, maxWorkflowTasks: 40 });
  });

  it('each knob is read from its own variable', () => {
    const env = readEnv({ HS_MAX_EVALUATIONS: '2', HS_MAX_WEIGHT_UPDATES: '1', HS_MAX_WORKFLOW_TASKS: '8', HS_MAX_CACHED_WORKFLOWS: '100' });
    assert.deepEqual(concurrencyOf(env), { maxEvaluations: 2, maxWeightUpdates: 1, maxWorkflowTasks: 8, maxCachedWorkflows: 100 });
    assert.equal(readEnv({ HS_MAX_WORKFLOW_TASKS: '1', HS_MAX_CACHED_WORKFLOWS: '0' }).maxWorkflowTasks, 1, 'one task at a time is fine without a cache');
  });

  it('the plugin takes its weight-activity default from HS_MAX_WEIGHT_UPDATES, as `hs worker` does', () => {
    assert.equal(parsePluginOptions({}, { HS_MAX_WEIGHT_UPDATES: '2' }, '/srv').maxWeightUpdates, 2);
    assert.equal(parsePluginOptions({ maxWeightUpdates: 3 }, { HS_MAX_WEIGHT_UPDATES: '2' }, '/srv').maxWeightUpdates, 3);
    assert.equal(parsePluginOptions({}, {}, '/srv').maxWeightUpdates, 4);
  });

  it('rejects values the SDK would silently change, naming the variable', () => {
    assert.match(invalid({ HS_MAX_WEIGHT_UPDATES: '0' }), /HS_MAX_WEIGHT_UPDATES: .*>=1/);
    assert.match(invalid({ HS_MAX_EVALUATIONS: 'lots' }), /HS_MAX_EVALUATIONS: /);
    assert.match(invalid({ HS_MAX_CACHED_WORKFLOWS: '1' }), /HS_MAX_CACHED_WORKFLOWS: must be 0 \(no cache\) or at least 2/);
    assert.match(invalid({ HS_MAX_WORKFLOW_TASKS: '50', HS_MAX_CACHED_WORKFLOWS: '20' }), /HS_MAX_WORKFLOW_TASKS: is 50 but may not exceed HS_MAX_CACHED_WORKFLOWS \(20\)/);
    assert.match(invalid({ HS_MAX_WORKFLOW_TASKS: '1' }), /HS_MAX_WORKFLOW_TASKS: must be at least 2 while the workflow cache is on/);
  });
});

describe('workers/temporal-connection: options for Connection and NativeConnection', () => {
  it('default: the local dev server over plain TCP', () => {
    const env = readEnv({});
    assert.deepEqual(temporalConnectionOptions(env.temporal), { address: '127.0.0.1:7233' });
    assert.equal(env.temporal.namespace, 'default');
    assert.equal(describeTemporal(env.temporal), '127.0.0.1:7233 (namespace default; plain TCP)');
  });

  it('mTLS from files (relative to the working directory): client certificate pair, server CA, server name', () => {
    const { dir } = pemFiles();
    const env = readEnv(
      {
        TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'ns.acct',
        TEMPORAL_TLS_CLIENT_CERT_PATH: 'client.pem',
        TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'client.key'),
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: './ca.pem',
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      },
      dir,
    );
    assert.equal(env.namespace, 'ns.acct');
    const options = temporalConnectionOptions(env.temporal);
    assert.deepEqual(options, {
      address: 'ns.acct.tmprl.cloud:7233',
      tls: { serverNameOverride: 'temporal.internal', serverRootCACertificate: Buffer.from(CA), clientCertPair: { crt: Buffer.from(CERT), key: Buffer.from(KEY) } },
    });
    assert.equal(describeTemporal(env.temporal), 'ns.acct.tmprl.cloud:7233 (namespace ns.acct; TLS, client certificate, own server CA, server name temporal.internal)');
  });

  it('inline PEM (*_DATA) works like files', () => {
    const env = readEnv({ TEMPORAL_TLS_CLIENT_CERT_DATA: CERT, TEMPORAL_TLS_CLIENT_KEY_DATA: KEY });
    assert.deepEqual(temporalConnectionOptions(env.temporal).tls, { clientCertPair: { crt: Buffer.from(CERT), key: Buffer.from(KEY) } });
  });

  it('TEMPORAL_TLS=true alone: TLS with the system roots (a cluster with a public certificate)', () => {
    assert.deepEqual(temporalConnectionOptions(readEnv({ TEMPORAL_TLS: 'true' }).temporal), { address: '127.0.0.1:7233', tls: {} });
    assert.deepEqual(temporalConnectionOptions(readEnv({ TEMPORAL_TLS: '0' }).temporal), { address: '127.0.0.1:7233' });
  });

  it('an API key turns TLS on (Temporal Cloud), unless TEMPORAL_TLS=false', () => {
    const cloud = readEnv({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: `  ${SECRET}\n` });
    assert.deepEqual(temporalConnectionOptions(cloud.temporal), { address: 'us-east-1.aws.api.temporal.io:7233', tls: {}, apiKey: SECRET });
    assert.equal(describeTemporal(cloud.temporal), 'us-east-1.aws.api.temporal.io:7233 (namespace ns.acct; TLS; API key)');
    const plain = readEnv({ TEMPORAL_API_KEY: SECRET, TEMPORAL_TLS: 'false' });
    assert.deepEqual(temporalConnectionOptions(plain.temporal), { address: '127.0.0.1:7233', tls: false, apiKey: SECRET });
  });

  it('the API key is never printed: not by inspecting or serialising the env, not in descriptions or errors', () => {
    const env: HsEnv = readEnv({ TEMPORAL_API_KEY: SECRET, TEMPORAL_ADDRESS: 'cloud.example:7233' });
    const shown = [
      inspect(env, { depth: 10, showHidden: true }),
      JSON.stringify(env),
      describeTemporal(env.temporal),
      unreachable(env.temporal, new Error('connection refused')).message,
      invalid({ TEMPORAL_API_KEY: `${SECRET} with spaces` }),
      invalid({ TEMPORAL_API_KEY: SECRET, TEMPORAL_TLS_CLIENT_CERT_DATA: CERT }),
    ];
    for (const text of shown) assert.ok(!text.includes(SECRET.slice(0, 12)), `leaked in: ${text}`);
    assert.match(shown[4]!, /TEMPORAL_API_KEY: must be one printable ASCII token/);
  });

  it('inconsistent settings are rejected, each naming its variable and the fix', () => {
    assert.match(invalid({ TEMPORAL_TLS_CLIENT_CERT_DATA: CERT }), /TEMPORAL_TLS_CLIENT_KEY_PATH: a client certificate needs its private key/);
    assert.match(invalid({ TEMPORAL_TLS_CLIENT_KEY_PATH: 'k.pem' }), /TEMPORAL_TLS_CLIENT_CERT_PATH: a client private key needs its certificate/);
    assert.match(invalid({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'a.pem', TEMPORAL_TLS_SERVER_CA_CERT_DATA: CA }), /TEMPORAL_TLS_SERVER_CA_CERT_PATH: set TEMPORAL_TLS_SERVER_CA_CERT_PATH or TEMPORAL_TLS_SERVER_CA_CERT_DATA, not both/);
    assert.match(invalid({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_NAME: 'x' }), /TEMPORAL_TLS: is false, but TEMPORAL_TLS_SERVER_NAME is set/);
    assert.match(invalid({ TEMPORAL_TLS: 'yes please' }), /TEMPORAL_TLS: must be true or false/);
    assert.match(invalid({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }), /TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: is not supported by the TypeScript SDK/);
    assert.doesNotThrow(() => readEnv({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'false' }));
    assert.match(invalid({ TEMPORAL_API_KEY: '' }), /TEMPORAL_API_KEY: must not be empty/);
    assert.match(invalid({ TEMPORAL_ADDRESS: '' }), /TEMPORAL_ADDRESS: must not be empty/);
  });

  it('certificate files are read when connecting, with errors that name the variable and the file', () => {
    const { dir, cert } = pemFiles();
    const missing = path.join(dir, 'nope.pem');
    const env = readEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: missing }); // parsing does not read files
    assert.throws(() => temporalConnectionOptions(env.temporal), (e: Error) => e.message.startsWith(`TEMPORAL_TLS_CLIENT_KEY_PATH: cannot read ${missing} (ENOENT`));
    const der = path.join(dir, 'ca.der');
    fs.writeFileSync(der, Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    const derEnv = readEnv({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: der });
    assert.throws(() => temporalConnectionOptions(derEnv.temporal), /^Error: TEMPORAL_TLS_SERVER_CA_CERT_PATH=.*ca\.der: not a PEM document .*openssl x509 -inform der/);
    assert.throws(() => temporalConnectionOptions(readEnv({ TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'MIIB' }).temporal), /^Error: TEMPORAL_TLS_SERVER_CA_CERT_DATA: not a PEM document/);
  });

  it('a failed connection says what was tried and how to fix it', () => {
    const local = readEnv({}).temporal;
    assert.match(unreachable(local, new Error('refused')).message, /^cannot reach Temporal at 127\.0\.0\.1:7233 \(namespace default; plain TCP\): refused; start it with `npx hs server start`/);
    const wrapped = new Error('Failed to connect to Temporal server', { cause: new Error('16 UNAUTHENTICATED: invalid API key') });
    assert.match(unreachable(local, wrapped).message, /: Failed to connect to Temporal server: 16 UNAUTHENTICATED: invalid API key; /);
    const remote = readEnv({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS: 'true' }).temporal;
    assert.match(unreachable(remote, new Error('handshake')).message, /check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TLS \/ API key settings/);
  });
});
