/**
 * A host application with its own Temporal Client and Worker (own task queue `host-app`, own workflow
 * `tunePool`) that adds Heterogeneous Swarms with one plugin line on each, then tunes a pool of models:
 *
 *   node --require tsx/cjs examples/host-app/main.ts study.json
 *
 * Prints the tuning summary as one JSON line. Environment: TEMPORAL_ADDRESS (127.0.0.1:7233),
 * TEMPORAL_NAMESPACE (default), and the plugin's defaults HS_HOME, HS_DATA_ROOT, HS_PAYLOAD_KEY (README).
 */
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { HeterogeneousSwarmsPlugin } from '../../workers/plugin';
import { tunePool, type TuningSummary } from './workflows';

const TASK_QUEUE = 'host-app';

export async function main(configFile: string): Promise<TuningSummary> {
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { study: string };
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const hs = new HeterogeneousSwarmsPlugin();
  const [clientConnection, workerConnection] = await Promise.all([Connection.connect({ address }), NativeConnection.connect({ address })]);
  try {
    const client = new Client({ connection: clientConnection, namespace, plugins: [hs] });
    const worker = await Worker.create({ connection: workerConnection, namespace, taskQueue: TASK_QUEUE, workflowsPath: require.resolve('./workflows'), plugins: [hs] });
    return await worker.runUntil(client.workflow.execute(tunePool, { taskQueue: TASK_QUEUE, workflowId: `host-app/${config.study}`, args: [config] }));
  } finally {
    await Promise.all([clientConnection.close(), workerConnection.close()]);
  }
}

if (require.main === module) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node --require tsx/cjs examples/host-app/main.ts <study.json>');
    process.exit(2);
  }
  main(file).then(
    (summary) => console.log(JSON.stringify(summary)),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
