/**
 * `hs llm serve`: the embedded OpenAI-compatible server on 127.0.0.1 over node-llama-cpp (CPU).
 *
 *   npx hs llm serve [--port 8080] [--host 127.0.0.1] [--model NAME=PATH.gguf]... [--lora NAME=PATH.gguf[@BASE]]...
 *                    [--roots dir1,dir2] [--threads N] [--context-size N] [--sequences N] [--max-contexts N]
 *
 * Default model: `smollm2` = .models/SmolLM2-135M-Instruct.Q4_1.gguf (installed by scripts/setup.sh). Default
 * roots (every model and adapter path must lie inside one): .models and $HS_HOME/adapters.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BaseModelSpec } from '../../llm/engine';
import { defaultThreads } from '../../llm/node-llama';
import type { ServeOptions, StartupAdapter } from '../../llm/serve';
import { serveUntilSignal } from '../../llm/serve';
import { readEnv } from '../../workers/env';
import { REPO_ROOT } from '../dev-server';

const USAGE = `usage: npx hs llm serve [options]

  --port N                 listen port (default 8080; 0 = any free port)
  --host ADDR              listen address (default 127.0.0.1)
  --model NAME=PATH.gguf   a base model, served as NAME (repeatable; default smollm2=.models/SmolLM2-135M-Instruct.Q4_1.gguf)
  --lora NAME=PATH.gguf[@BASE]  a LoRA adapter served as NAME on BASE (repeatable; BASE optional with one model)
  --roots DIR,DIR          the only folders models and adapters may be loaded from (default .models,$HS_HOME/adapters)
  --threads N              CPU threads for generation, all models together (default: cores − 1, 1 to 4; here ${defaultThreads()})
  --context-size N         tokens per request, prompt + answer (default 2048)
  --sequences N            requests generated together per model (default 1: answers independent of load)
  --max-contexts N         models/adapters kept ready at once (default 6)

prints {"baseURL":"http://HOST:PORT/v1"} on stdout when ready; logs JSON lines on stderr; stops on SIGTERM/SIGINT.`;

/** A usage error: printed with the usage, exit status 2. */
class UsageError extends Error {}

function positiveInt(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

function splitNamed(flag: string, spec: string): { name: string; rest: string } {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) throw new UsageError(`--${flag} expects NAME=PATH, got "${spec}"`);
  return { name: spec.slice(0, eq), rest: spec.slice(eq + 1) };
}

/** `NAME=PATH[@BASE]`: `@BASE` is taken only when what follows the last `@` contains no path separator. */
function parseLora(spec: string, cwd: string): StartupAdapter {
  const { name, rest } = splitNamed('lora', spec);
  const at = rest.lastIndexOf('@');
  const base = at > 0 ? rest.slice(at + 1) : '';
  if (base !== '' && !/[\\/]/.test(base)) return { name, path: path.resolve(cwd, rest.slice(0, at)), base };
  return { name, path: path.resolve(cwd, rest) };
}

/** The serve options from argv and the environment. Throws `UsageError` for bad flags. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ServeOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      model: { type: 'string', multiple: true },
      lora: { type: 'string', multiple: true },
      roots: { type: 'string' },
      threads: { type: 'string' },
      'context-size': { type: 'string' },
      sequences: { type: 'string' },
      'max-contexts': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
  const home = readEnv(env, cwd).home;
  const models: BaseModelSpec[] = (values.model ?? []).map((spec) => {
    const { name, rest } = splitNamed('model', spec);
    return { name, path: path.resolve(cwd, rest) };
  });
  if (models.length === 0) models.push({ name: 'smollm2', path: path.join(REPO_ROOT, '.models', 'SmolLM2-135M-Instruct.Q4_1.gguf') });
  const roots =
    values.roots === undefined
      ? [path.join(REPO_ROOT, '.models'), path.join(home, 'adapters')]
      : values.roots.split(',').map((r) => r.trim()).filter((r) => r !== '').map((r) => path.resolve(cwd, r));
  if (roots.length === 0) throw new UsageError('--roots needs at least one folder');
  return {
    host: values.host,
    port: positiveInt('port', values.port, 8080, 0),
    models,
    adapters: (values.lora ?? []).map((spec) => parseLora(spec, cwd)),
    roots,
    threads: positiveInt('threads', values.threads, defaultThreads()),
    contextSize: positiveInt('context-size', values['context-size'], 2048, 64),
    sequencesPerContext: positiveInt('sequences', values.sequences, 1),
    maxContexts: positiveInt('max-contexts', values['max-contexts'], 6),
  };
}

export async function llmCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'serve') {
    const help = action === undefined || action === 'help' || action === '--help' || action === '-h';
    (help ? console.log : console.error)(help ? USAGE : `unknown llm action "${action}"\n\n${USAGE}`);
    return help && action !== undefined ? 0 : 2;
  }
  let options: ServeOptions;
  try {
    options = parseServeArgs(rest);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
      console.error(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  return await serveUntilSignal(options);
}
