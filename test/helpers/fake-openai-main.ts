/**
 * The fake OpenAI server as a standalone process, for multi-process (e2e / chaos) tests:
 *
 *   node --require tsx/cjs test/helpers/fake-openai-main.ts [--port 0] [--host 127.0.0.1] [--log FILE] [--delay-ms N]
 *
 * Prints one JSON line `{"baseURL": "...", "pid": N}` on stdout once listening, and appends the key (sha256 of
 * the canonical body) of every chat request, one per line, to the log file — so a test can count requests
 * across worker restarts. Answers are `defaultAnswer(model, prompt)`: they depend only on (model, prompt).
 * Exits on SIGTERM / SIGINT.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFakeOpenAi } from './fake-openai';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      log: { type: 'string' },
      'delay-ms': { type: 'string', default: '0' },
    },
  });
  const log = values.log;
  const fake = await startFakeOpenAi({
    port: Number(values.port),
    host: values.host,
    delayMs: Number(values['delay-ms']),
    onRequest: log === undefined ? undefined : (r) => appendFileSync(log, `${r.key}\n`),
  });
  process.stdout.write(`${JSON.stringify({ baseURL: fake.baseURL, pid: process.pid })}\n`);
  const stop = (): void => {
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`fake-openai: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
