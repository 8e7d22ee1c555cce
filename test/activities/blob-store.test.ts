import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { BlobCorruptError, BlobNotFoundError, createFsBlobStore } from '../../activities/blob-store';
import { canonicalJson } from '../../activities/canonical-json';
import { tmpDirs } from './tmp-dir';

describe('blob-store', () => {
  const dirs = tmpDirs('blobs');
  after(() => dirs.cleanup());
  const doc = { b: [1, 'two', { d: null, c: true }], a: 'é', skipped: undefined };

  it('round-trips JSON under sha256 of the canonical bytes; put is idempotent', async () => {
    const dir = await dirs.make();
    const blobs = createFsBlobStore(dir);
    const key = await blobs.putJson(doc);
    const hex = createHash('sha256').update(canonicalJson(doc)).digest('hex');
    assert.equal(key, `sha256:${hex}`);
    assert.equal(canonicalJson(doc), '{"a":"é","b":[1,"two",{"c":true,"d":null}]}');
    assert.deepEqual(await blobs.getJson(key), { a: 'é', b: [1, 'two', { c: true, d: null }] });
    assert.equal(await blobs.putJson({ a: 'é', b: [1, 'two', { c: true, d: null }] }), key, 'same content, same key');
    assert.deepEqual(await readdir(path.join(dir, 'sha256', hex.slice(0, 2))), [hex]);
    assert.deepEqual(await createFsBlobStore(dir).getJson(key), await blobs.getJson(key));
  });

  it('verifies the hash on read and repairs a damaged blob on the next put', async () => {
    const dir = await dirs.make();
    const blobs = createFsBlobStore(dir);
    const key = await blobs.putJson(doc);
    const hex = key.slice('sha256:'.length);
    const file = path.join(dir, 'sha256', hex.slice(0, 2), hex);
    await writeFile(file, gzipSync(Buffer.from('{"a":"tampered"}')));
    await assert.rejects(blobs.getJson(key), BlobCorruptError);
    await writeFile(file, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    await assert.rejects(blobs.getJson(key), BlobCorruptError);
    assert.equal(await blobs.putJson(doc), key);
    assert.deepEqual(await blobs.getJson(key), { a: 'é', b: [1, 'two', { c: true, d: null }] });
  });

  it('reads plain (uncompressed) blobs too', async () => {
    const dir = await dirs.make();
    const text = canonicalJson({ plain: true });
    const hex = createHash('sha256').update(text).digest('hex');
    await createFsBlobStore(dir).putJson({ other: 1 });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(dir, 'sha256', hex.slice(0, 2)), { recursive: true });
    await writeFile(path.join(dir, 'sha256', hex.slice(0, 2), hex), text);
    assert.deepEqual(await createFsBlobStore(dir).getJson(`sha256:${hex}`), { plain: true });
  });

  it('missing blob and malformed key fail clearly; non-JSON values are refused', async () => {
    const blobs = createFsBlobStore(await dirs.make());
    await assert.rejects(blobs.getJson(`sha256:${'0'.repeat(64)}`), BlobNotFoundError);
    await assert.rejects(blobs.getJson('md5:abc'), RangeError);
    await assert.rejects(blobs.putJson({ x: Number.NaN }), /\$\.x is NaN/);
  });
});
