import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LlmError } from '../../llm/errors';
import { confinePath } from '../../llm/paths';

describe('llm/confinePath', () => {
  let dir: string;
  let root: string;
  let outside: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-llm-paths-'));
    root = path.join(dir, 'root');
    outside = path.join(dir, 'outside');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(root, 'sub', 'a.gguf'), 'x');
    fs.writeFileSync(path.join(outside, 'secret.gguf'), 'x');
    fs.symlinkSync(path.join(outside, 'secret.gguf'), path.join(root, 'escape.gguf'));
    fs.symlinkSync(path.join(root, 'sub', 'a.gguf'), path.join(root, 'inside-link.gguf'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const fails = (status: number, code: string) => (e: unknown) => e instanceof LlmError && e.status === status && e.code === code;

  it('accepts a file inside a root, absolute or relative to cwd, and returns its real path', async () => {
    const real = fs.realpathSync(path.join(root, 'sub', 'a.gguf'));
    assert.equal(await confinePath(path.join(root, 'sub', 'a.gguf'), [root], 'p'), real);
    assert.equal(await confinePath('sub/a.gguf', [root], 'p', root), real);
    assert.equal(await confinePath(path.join(root, 'inside-link.gguf'), [root], 'p'), real);
  });

  it('refuses paths outside every root (403), `..` segments (400) and symlinks that escape (403)', async () => {
    await assert.rejects(confinePath(path.join(outside, 'secret.gguf'), [root], 'p'), fails(403, 'path_not_allowed'));
    await assert.rejects(confinePath(`${root}/sub/../../outside/secret.gguf`, [root], 'p'), fails(400, 'invalid_path'));
    await assert.rejects(confinePath(path.join(root, 'escape.gguf'), [root], 'p'), fails(403, 'path_not_allowed'));
  });

  it('reports missing files, directories, empty paths and missing roots clearly', async () => {
    await assert.rejects(confinePath(path.join(root, 'nope.gguf'), [root], 'p'), fails(400, 'file_not_found'));
    await assert.rejects(confinePath(path.join(root, 'sub'), [root], 'p'), fails(400, 'file_not_found'));
    await assert.rejects(confinePath('  ', [root], 'p'), fails(400, 'invalid_path'));
    await assert.rejects(confinePath(path.join(root, 'sub', 'a.gguf'), [path.join(dir, 'missing')], 'p'), fails(403, 'path_not_allowed'));
  });
});
