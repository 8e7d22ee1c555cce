/** `hs pool init`: the expert pool of the embedded model — K seeded random LoRA adapters and `pool.json`. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_RANDOM_LORA_SCALE } from '../../llm/gguf-lora-random';
import { initPool } from '../../llm/pool';
import { readEnv } from '../../workers/env';

export const POOL_USAGE = `usage: npx hs pool init [options]

  --base FILE     base model GGUF (default .models/SmolLM2-135M-Instruct.Q4_1.gguf)
  --experts K     number of experts (default 4)
  --rank R        LoRA rank (default 8)
  --alpha A       LoRA alpha (default: the rank)
  --scale S       RMS of each expert's weight update (default ${DEFAULT_RANDOM_LORA_SCALE})
  --seed N        pool seed (default 1)
  --out DIR       output directory (default $HS_HOME/adapters)
  --name NAME     pool name; experts are NAME-expert-<i> (default smollm2)

Writes DIR/expert-<i>.gguf and DIR/pool.json. Same options ⇒ same files; up-to-date files are not rewritten.`;

const ArgsSchema = z.object({
  base: z.string().min(1),
  experts: z.coerce.number().int().min(1).max(256),
  rank: z.coerce.number().int().min(1).max(1024),
  alpha: z.coerce.number().positive().optional(),
  scale: z.coerce.number().min(0).max(10),
  seed: z.coerce.number().int().min(0).max(0xffffffff),
  out: z.string().min(1).optional(),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only'),
});

/** `file` relative to the working directory when it lies below it, else absolute. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

export async function poolCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'init') {
    console.error(POOL_USAGE);
    return action === undefined || action === 'help' || action === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      base: { type: 'string', default: '.models/SmolLM2-135M-Instruct.Q4_1.gguf' },
      experts: { type: 'string', default: '4' },
      rank: { type: 'string', default: '8' },
      alpha: { type: 'string' },
      scale: { type: 'string', default: String(DEFAULT_RANDOM_LORA_SCALE) },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      name: { type: 'string', default: 'smollm2' },
    },
  });
  const parsed = ArgsSchema.safeParse(values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`--${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const a = parsed.data;
  const outDir = path.resolve(a.out ?? path.join(readEnv().home, 'adapters'));
  const started = Date.now();
  const result = await initPool({
    basePath: a.base,
    outDir,
    name: a.name,
    experts: a.experts,
    rank: a.rank,
    seed: a.seed,
    scale: a.scale,
    ...(a.alpha !== undefined ? { alpha: a.alpha } : {}),
  });
  const fresh = new Set(result.written);
  for (const e of result.manifest.experts) {
    const file = path.resolve(outDir, e.path);
    console.log(`${e.name}  ${fresh.has(file) ? 'written ' : 'up to date'}  ${e.sha256}  ${shown(file)}`);
  }
  const manifest = shown(result.manifestPath);
  console.log(`${manifest} ${result.manifestWritten ? 'written' : 'unchanged'}: ${result.manifest.experts.length} experts of rank ${a.rank} on ${a.base} (${Date.now() - started} ms)`);
  return 0;
}
