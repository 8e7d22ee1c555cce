/** A Temporal client for the CLI, from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, HS_PAYLOAD_KEY). */
import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../workers/codec';
import type { HsEnv } from '../workers/env';

export async function withClient<T>(env: HsEnv, fn: (client: Client) => Promise<T>): Promise<T> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: env.temporalAddress, connectTimeout: 5000 });
  } catch (e) {
    throw new Error(`cannot reach Temporal at ${env.temporalAddress} (${(e as Error).message}); start it with \`npx hs server start\``);
  }
  try {
    const dataConverter = dataConverterFor(env.payloadKey);
    return await fn(new Client({ connection, namespace: env.namespace, ...(dataConverter ? { dataConverter } : {}) }));
  } finally {
    await connection.close();
  }
}
