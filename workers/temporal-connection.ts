/**
 * How the workers and the CLI reach Temporal: a local dev server (plain TCP, the default), a self-hosted cluster
 * behind TLS or mutual TLS, or Temporal Cloud (mTLS client certificate, or an API key).
 *
 * The variables are the Temporal CLI's own (`temporal options`: TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, …,
 * TEMPORAL_API_KEY), so one environment configures both `hs` and `temporal workflow …`. Certificates come from a
 * file (`*_PATH`) or inline PEM (`*_DATA`, e.g. a Kubernetes secret in the environment); files are read when a
 * connection is made, so commands that never connect (`hs validate`, `hs llm serve`) do not need them.
 *
 * The API key is kept behind a function: printing, logging or serialising the settings never shows it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';

/** A PEM document from a file or inline, and the variable that named it (for error messages). */
export type PemSource = { variable: string; path: string } | { variable: string; data: string };

export interface TemporalTls {
  /** mTLS: the client certificate and its private key (both or neither). */
  clientCert?: PemSource;
  clientKey?: PemSource;
  /** The server's CA, when it is not one the operating system trusts (Temporal Cloud's is). */
  serverCa?: PemSource;
  /** Overrides the TLS server name (SNI and host-name check). */
  serverName?: string;
}

export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  /** `undefined`: plain TCP (the local dev server). */
  tls: TemporalTls | undefined;
  /** The API key (sent as `Authorization: Bearer …`), behind a function so that it is never printed. */
  apiKey: (() => string) | undefined;
}

/** Options accepted by both `Connection.connect` (client) and `NativeConnection.connect` (worker). */
export interface TemporalConnectionOptions {
  address: string;
  /** `false`: plain TCP even with an API key (TEMPORAL_TLS=false). */
  tls?: TLSConfig | false;
  apiKey?: string;
}

const BOOLEAN = { true: true, '1': true, false: false, '0': false } as const;
const booleanVar = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['true', '1', 'false', '0'], { error: 'must be true or false' }))
  .transform((s) => BOOLEAN[s]);
const text = z.string().min(1, 'must not be empty (unset it instead)');

/** The connection variables (TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE included). */
export const TemporalEnvSchema = z.object({
  TEMPORAL_ADDRESS: text.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: text.default('default'),
  /** Force TLS on (true) or off (false); by default on as soon as any TLS setting or an API key is given. */
  TEMPORAL_TLS: booleanVar.optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: text.optional(),
  TEMPORAL_TLS_CLIENT_CERT_DATA: text.optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: text.optional(),
  TEMPORAL_TLS_CLIENT_KEY_DATA: text.optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: text.optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: text.optional(),
  TEMPORAL_TLS_SERVER_NAME: text.optional(),
  /** Accepted only as false: the TypeScript SDK cannot skip host-name verification. */
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: booleanVar.optional(),
  TEMPORAL_API_KEY: z
    .string()
    .trim()
    .min(1, 'must not be empty (unset it instead)')
    .regex(/^[\x21-\x7e]+$/, 'must be one printable ASCII token without spaces (it becomes an HTTP header)')
    .optional(),
});
type TemporalEnv = z.infer<typeof TemporalEnvSchema>;

/** One issue of the cross-field rules: the variable it is about, and what to do. */
export interface EnvIssue {
  variable: string;
  message: string;
}

type PemName = 'CLIENT_CERT' | 'CLIENT_KEY' | 'SERVER_CA_CERT';
const PEM_NAMES: readonly PemName[] = ['CLIENT_CERT', 'CLIENT_KEY', 'SERVER_CA_CERT'];

/** The rules zod's per-field schema cannot express; empty when the variables are consistent. */
export function temporalEnvIssues(e: TemporalEnv): EnvIssue[] {
  const issues: EnvIssue[] = [];
  for (const name of PEM_NAMES) {
    if (e[`TEMPORAL_TLS_${name}_PATH`] !== undefined && e[`TEMPORAL_TLS_${name}_DATA`] !== undefined) {
      issues.push({ variable: `TEMPORAL_TLS_${name}_PATH`, message: `set TEMPORAL_TLS_${name}_PATH or TEMPORAL_TLS_${name}_DATA, not both` });
    }
  }
  const hasCert = e.TEMPORAL_TLS_CLIENT_CERT_PATH !== undefined || e.TEMPORAL_TLS_CLIENT_CERT_DATA !== undefined;
  const hasKey = e.TEMPORAL_TLS_CLIENT_KEY_PATH !== undefined || e.TEMPORAL_TLS_CLIENT_KEY_DATA !== undefined;
  if (hasCert && !hasKey) issues.push({ variable: 'TEMPORAL_TLS_CLIENT_KEY_PATH', message: 'a client certificate needs its private key (mTLS): set TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_CLIENT_KEY_DATA' });
  if (hasKey && !hasCert) issues.push({ variable: 'TEMPORAL_TLS_CLIENT_CERT_PATH', message: 'a client private key needs its certificate (mTLS): set TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CLIENT_CERT_DATA' });
  if (e.TEMPORAL_TLS === false) {
    const tlsSettings = Object.keys(e).filter((k) => k.startsWith('TEMPORAL_TLS_') && k !== 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION' && e[k as keyof TemporalEnv] !== undefined);
    if (tlsSettings.length > 0) issues.push({ variable: 'TEMPORAL_TLS', message: `is false, but ${tlsSettings.join(', ')} ${tlsSettings.length === 1 ? 'is' : 'are'} set: unset one or the other` });
  }
  if (e.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === true) {
    issues.push({ variable: 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION', message: 'is not supported by the TypeScript SDK: give the server CA (TEMPORAL_TLS_SERVER_CA_CERT_PATH) and, if the certificate names another host, TEMPORAL_TLS_SERVER_NAME' });
  }
  return issues;
}

/** The settings from validated variables (`temporalEnvIssues(e)` must be empty); relative paths resolve against `cwd`. */
export function temporalSettings(e: TemporalEnv, cwd: string): TemporalConnectionSettings {
  const pem = (name: PemName): PemSource | undefined => {
    const file = e[`TEMPORAL_TLS_${name}_PATH`];
    if (file !== undefined) return { variable: `TEMPORAL_TLS_${name}_PATH`, path: path.resolve(cwd, file) };
    const data = e[`TEMPORAL_TLS_${name}_DATA`];
    return data === undefined ? undefined : { variable: `TEMPORAL_TLS_${name}_DATA`, data };
  };
  const tls: TemporalTls = {};
  const clientCert = pem('CLIENT_CERT');
  const clientKey = pem('CLIENT_KEY');
  const serverCa = pem('SERVER_CA_CERT');
  if (clientCert) tls.clientCert = clientCert;
  if (clientKey) tls.clientKey = clientKey;
  if (serverCa) tls.serverCa = serverCa;
  if (e.TEMPORAL_TLS_SERVER_NAME !== undefined) tls.serverName = e.TEMPORAL_TLS_SERVER_NAME;
  const key = e.TEMPORAL_API_KEY;
  // As the Temporal CLI: TLS is on when asked for, or when any TLS setting or an API key is present.
  const on = e.TEMPORAL_TLS ?? (Object.keys(tls).length > 0 || key !== undefined);
  return { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, tls: on ? tls : undefined, apiKey: key === undefined ? undefined : () => key };
}

/** Reads one PEM document; errors name the variable, the file and the fix. */
function readPem(source: PemSource, readFile: (file: string) => Buffer): Buffer {
  let bytes: Buffer;
  let where: string;
  if ('path' in source) {
    where = `${source.variable}=${source.path}`;
    try {
      bytes = readFile(source.path);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`${source.variable}: cannot read ${source.path} (${reason})`);
    }
  } else {
    where = source.variable;
    bytes = Buffer.from(source.data, 'utf8');
  }
  if (!bytes.toString('latin1').includes('-----BEGIN ')) throw new Error(`${where}: not a PEM document (no "-----BEGIN" line); convert DER files with \`openssl x509 -inform der\` (certificates) or \`openssl pkey -inform der\` (keys)`);
  return bytes;
}

/**
 * The options for `Connection.connect` and `NativeConnection.connect`: certificate files are read now (errors name
 * the variable and the file).
 */
export function temporalConnectionOptions(settings: TemporalConnectionSettings, readFile: (file: string) => Buffer = (f) => fs.readFileSync(f)): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: settings.address };
  const { tls } = settings;
  if (tls !== undefined) {
    const config: TLSConfig = {};
    if (tls.serverName !== undefined) config.serverNameOverride = tls.serverName;
    if (tls.serverCa) config.serverRootCACertificate = readPem(tls.serverCa, readFile);
    if (tls.clientCert && tls.clientKey) config.clientCertPair = { crt: readPem(tls.clientCert, readFile), key: readPem(tls.clientKey, readFile) };
    options.tls = config;
  } else if (settings.apiKey !== undefined) {
    options.tls = false; // TEMPORAL_TLS=false with an API key: the SDK would turn TLS on by itself
  }
  if (settings.apiKey !== undefined) options.apiKey = settings.apiKey();
  return options;
}

/** One line for logs: address, namespace, TLS and how the client authenticates — never the key itself. */
export function describeTemporal(settings: TemporalConnectionSettings): string {
  const parts = [`namespace ${settings.namespace}`];
  const { tls } = settings;
  if (tls === undefined) parts.push('plain TCP');
  else parts.push(['TLS', tls.clientCert ? 'client certificate' : '', tls.serverCa ? 'own server CA' : '', tls.serverName ? `server name ${tls.serverName}` : ''].filter((p) => p !== '').join(', '));
  if (settings.apiKey !== undefined) parts.push('API key');
  return `${settings.address} (${parts.join('; ')})`;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The error for a connection that failed: what was tried, the cause, and the likely fix. */
export function unreachable(settings: TemporalConnectionSettings, cause: unknown): Error {
  // The SDK wraps the telling part (e.g. "16 UNAUTHENTICATED: …") in `cause`: show the whole chain.
  const reasons: string[] = [];
  for (let e: unknown = cause; e !== undefined && reasons.length < 5; e = e instanceof Error ? e.cause : undefined) {
    const message = e instanceof Error ? e.message : typeof e === 'string' ? e : inspect(e);
    if (!reasons.includes(message)) reasons.push(message);
  }
  const reason = reasons.join(': ');
  const host = settings.address.replace(/:\d+$/, '');
  const local = settings.tls === undefined && settings.apiKey === undefined && LOCAL_HOSTS.has(host);
  const fix = local
    ? 'start it with `npx hs server start` or set TEMPORAL_ADDRESS'
    : 'check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TLS / API key settings (TEMPORAL_TLS_*, TEMPORAL_API_KEY)';
  return new Error(`cannot reach Temporal at ${describeTemporal(settings)}: ${reason}; ${fix}`);
}
