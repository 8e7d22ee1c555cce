/** A Temporal client for the CLI, from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
 * TEMPORAL_API_KEY, HS_PAYLOAD_KEY). */
import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../workers/codec';
import type { HsEnv } from '../workers/env';
import { temporalConnectionOptions, unreachable } from '../workers/temporal-connection';

export async function withClient<T>(env: HsEnv, fn: (client: Client) => Promise<T>): Promise<T> {
  const options = temporalConnectionOptions(env.temporal); // certificate errors are not connection errors
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: 5000 });
  } catch (e) {
    throw unreachable(env.temporal, e);
  }
  try {
    const dataConverter = dataConverterFor(env.payloadKey);
    return await fn(new Client({ connection, namespace: env.namespace, ...(dataConverter ? { dataConverter } : {}) }));
  } finally {
    await connection.close();
  }
}
