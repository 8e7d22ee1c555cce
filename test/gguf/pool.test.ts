import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readLoraAdapter } from '../../llm/gguf-lora';
import { sha256File } from '../../llm/adapter-file';
import { expertSeed, initPool, type PoolInitOptions } from '../../llm/pool';
import { loadPool, PoolManifestSchema } from '../../llm/pool-schema';
import { poolCommand } from '../../scripts/commands/pool';
import { tmpDirs } from '../activities/tmp-dir';
import { writeTinyBase } from './fixtures';

const mtimes = async (files: string[]): Promise<number[]> => Promise.all(files.map(async (f) => (await stat(f)).mtimeMs));

describe('llm/pool', () => {
  const dirs = tmpDirs('pool');
  let base = '';
  before(async () => {
    base = await writeTinyBase(await dirs.make());
  });
  after(() => dirs.cleanup());

  const options = async (extra: Partial<PoolInitOptions> = {}): Promise<PoolInitOptions> => ({
    basePath: base,
    outDir: path.join(await dirs.make(), 'adapters'),
    name: 'tiny',
    experts: 3,
    rank: 4,
    seed: 1,
    ...extra,
  });

  it('creates K distinct experts and a valid pool.json with their recipes and hashes', async () => {
    const opts = await options();
    const result = await initPool(opts);
    const files = [0, 1, 2].map((i) => path.join(opts.outDir, `expert-${i}.gguf`));
    assert.deepEqual(result.written, files);
    assert.deepEqual(result.unchanged, []);
    assert.ok(result.manifestWritten);

    const manifest = await loadPool(result.manifestPath);
    assert.deepEqual(manifest, result.manifest);
    assert.equal(manifest.base.sha256, await sha256File(base));
    assert.equal(path.resolve(opts.outDir, manifest.base.path), base);
    assert.deepEqual(
      manifest.experts.map((e) => [e.name, e.path, e.rank, e.alpha, e.seed, e.scale]),
      [0, 1, 2].map((i) => [`tiny-expert-${i}`, `expert-${i}.gguf`, 4, 4, expertSeed(1, i), 0.01]),
    );
    for (const [i, e] of manifest.experts.entries()) assert.equal(e.sha256, await sha256File(files[i]!));
    assert.equal(new Set(manifest.experts.map((e) => e.sha256)).size, 3, 'experts are distinct');
    assert.equal(new Set(manifest.experts.map((e) => e.seed)).size, 3);

    const resolved = await loadPool(result.manifestPath, { resolvePaths: true });
    assert.deepEqual(
      resolved.experts.map((e) => e.path),
      files,
    );
    assert.equal((await readLoraAdapter(resolved.experts[0]!.path)).rank, 4);
    assert.ok(PoolManifestSchema.safeParse(JSON.parse(await readFile(result.manifestPath, 'utf8'))).success);
  });

  it('is idempotent: the same arguments rewrite nothing; a damaged expert or a new recipe is regenerated', async () => {
    const opts = await options();
    const first = await initPool(opts);
    const files = first.written;
    const before = await mtimes([...files, first.manifestPath]);
    await new Promise((r) => setTimeout(r, 20));

    const second = await initPool(opts);
    assert.deepEqual(second.written, []);
    assert.deepEqual(second.unchanged, files);
    assert.equal(second.manifestWritten, false);
    assert.deepEqual(second.manifest, first.manifest);
    assert.deepEqual(await mtimes([...files, first.manifestPath]), before);

    await writeFile(files[1]!, 'damaged');
    const repaired = await initPool(opts);
    assert.deepEqual(repaired.written, [files[1]]);
    assert.equal(repaired.manifestWritten, false, 'same bytes as before, so the same manifest');
    assert.equal(await sha256File(files[1]!), first.manifest.experts[1]!.sha256);

    const rescaled = await initPool({ ...opts, scale: 0.02 });
    assert.deepEqual(rescaled.written, files);
    assert.ok(rescaled.manifestWritten);
    assert.ok(rescaled.manifest.experts.every((e, i) => e.sha256 !== first.manifest.experts[i]!.sha256));

    const grown = await initPool({ ...opts, scale: 0.02, experts: 4 });
    assert.deepEqual(grown.unchanged, files);
    assert.deepEqual(grown.written, [path.join(opts.outDir, 'expert-3.gguf')]);
  });

  it('another pool seed gives other experts', async () => {
    const a = await initPool(await options({ experts: 2 }));
    const b = await initPool(await options({ experts: 2, seed: 2 }));
    const hashes = [...a.manifest.experts, ...b.manifest.experts].map((e) => e.sha256);
    assert.equal(new Set(hashes).size, 4);
  });

  it('`hs pool init` writes the pool and reports bad arguments with exit code 2', async () => {
    const out = path.join(await dirs.make(), 'cli');
    const logged: string[] = [];
    const log = console.log;
    const error = console.error;
    console.log = (line: string) => void logged.push(line);
    console.error = (line: string) => void logged.push(line);
    try {
      assert.equal(await poolCommand(['init', '--base', base, '--out', out, '--experts', '2', '--rank', '2', '--name', 'cli']), 0);
      assert.equal(await poolCommand(['init', '--base', base, '--out', out, '--rank', '0']), 2);
      assert.equal(await poolCommand(['frobnicate']), 2);
    } finally {
      console.log = log;
      console.error = error;
    }
    const manifest = await loadPool(path.join(out, 'pool.json'));
    assert.deepEqual(
      manifest.experts.map((e) => [e.name, e.rank]),
      [
        ['cli-expert-0', 2],
        ['cli-expert-1', 2],
      ],
    );
    assert.ok(logged.some((l) => /--rank: .*>=1/.test(l)), logged.join('\n'));
  });
});
