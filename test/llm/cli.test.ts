/**
 * `hs llm serve`: argument parsing, and the real command as a child process (ready line, a request, SIGTERM).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { defaultThreads } from '../../llm/node-llama';
import { parseServeArgs } from '../../scripts/commands/llm';
import { REPO_ROOT, SMOLLM2 } from './real-server';

describe('hs llm serve', function () {
  this.timeout(120_000);

  it('parses flags, with defaults from the repo and HS_HOME', () => {
    const defaults = parseServeArgs([], { HS_HOME: '/tmp/hs-home' }, '/srv/hs');
    assert.equal(defaults.port, 8080);
    assert.equal(defaults.host, '127.0.0.1');
    assert.equal(defaults.threads, defaultThreads());
    assert.deepEqual(defaults.models, [{ name: 'smollm2', path: SMOLLM2 }]);
    assert.deepEqual(defaults.roots, [path.join(REPO_ROOT, '.models'), '/tmp/hs-home/adapters']);
    const custom = parseServeArgs(
      ['--port', '0', '--model', 'a=m/a.gguf', '--model', 'b=/abs/b.gguf', '--lora', 'x=ad/x.gguf@a', '--lora', 'y=/p@q/y.gguf', '--roots', 'm, ad', '--threads', '1'],
      {},
      '/srv/hs',
    );
    assert.equal(custom.port, 0);
    assert.deepEqual(custom.models, [
      { name: 'a', path: '/srv/hs/m/a.gguf' },
      { name: 'b', path: '/abs/b.gguf' },
    ]);
    assert.deepEqual(custom.adapters, [
      { name: 'x', path: '/srv/hs/ad/x.gguf', base: 'a' },
      { name: 'y', path: '/p@q/y.gguf' },
    ]);
    assert.deepEqual(custom.roots, ['/srv/hs/m', '/srv/hs/ad']);
    assert.equal(custom.threads, 1);
    assert.throws(() => parseServeArgs(['--threads', '0']), /--threads must be an integer/);
    assert.throws(() => parseServeArgs(['--model', 'no-equals-sign']), /expects NAME=PATH/);
  });

  it('prints its baseURL when ready, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/hs.js'), 'llm', 'serve', '--port', '0', '--threads', '1'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const baseURL = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', (line) => resolve((JSON.parse(line) as { baseURL: string }).baseURL));
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
      });
      assert.match(baseURL, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'smollm2', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, temperature: 0 });
      assert.equal(r.usage?.completion_tokens, 4);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l.path === '/v1/chat/completions' && l.status === 200), 'request logged as a JSON line');
    assert.equal(lines.at(-1)?.event, 'stopped');
  });
});
