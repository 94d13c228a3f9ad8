/**
 * BaseTreesAhead (build/ahead.ts): one tap per base resolution, the tree handed over only for the layer it
 * was extracted from, and nothing left in the cache's tmp/ whatever happens to it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BaseTreesAhead } from '../../src/build/ahead.js';
import { BuildCache } from '../../src/cache/store.js';
import { BlobStore } from '../../src/image/blobstore.js';
import { tarballToLayer } from '../../src/sources/tarball.js';
import { tarChunks } from '../../src/tar/writer.js';
import { requireTools } from '../support/index.js';
import { collect, fileEntry, tmp } from '../tar/helpers.js';

async function tarball(files: Record<string, string>): Promise<Buffer> {
  return collect(tarChunks(Object.entries(files).map(([p, c]) => fileEntry(p, c))));
}

describe('BaseTreesAhead', () => {
  if (!requireTools('root', 'tar')) return;

  async function resolveWith(ahead: BaseTreesAhead, cache: BuildCache, files: Record<string, string>) {
    const store = new BlobStore(cache.dir);
    const bytes = await tarball(files);
    return tarballToLayer(() => Readable.from([bytes]), store, { compression: 'none', tap: ahead.tap() });
  }

  it('hands over the tree of the layer it was asked for, once', async () => {
    const cache = new BuildCache(tmp('rootc-ahead-cache-'));
    const ahead = new BaseTreesAhead(cache);
    const layer = await resolveWith(ahead, cache, { 'etc/os-release': 'ID=test\n' });
    // One tap per resolution: a second layer of the same base gets none.
    expect(ahead.tap()).toBeUndefined();
    await ahead.resolved('base-a');
    expect(await ahead.take('base-b', layer.diffId)).toBeUndefined();
    const tree = await ahead.take('base-a', layer.diffId);
    expect(tree).toBeDefined();
    expect(readFileSync(path.join(tree!, 'etc/os-release'), 'utf8')).toBe('ID=test\n');
    expect(await ahead.take('base-a', layer.diffId)).toBeUndefined();
  });

  it('drops a tree of another layer, of a failed resolution, and every tree not taken', async () => {
    const cache = new BuildCache(tmp('rootc-ahead-cache-'));
    const ahead = new BaseTreesAhead(cache);
    await resolveWith(ahead, cache, { a: 'a' });
    await ahead.resolved('one');
    expect(await ahead.take('one', `sha256:${'0'.repeat(64)}`)).toBeUndefined();
    expect(readdirSync(cache.tmpDir)).toEqual([]);

    expect(ahead.tap()).toBeDefined();
    await ahead.failed();
    expect(readdirSync(cache.tmpDir)).toEqual([]);

    await resolveWith(ahead, cache, { b: 'b' });
    await ahead.resolved('two');
    await resolveWith(ahead, cache, { c: 'c' }); // a resolution still open when the build stops
    expect(readdirSync(cache.tmpDir)).toHaveLength(2);
    await ahead.discard();
    expect(readdirSync(cache.tmpDir)).toEqual([]);
  });

  it('replaces the tree of a key resolved again', async () => {
    const cache = new BuildCache(tmp('rootc-ahead-cache-'));
    const ahead = new BaseTreesAhead(cache);
    await resolveWith(ahead, cache, { first: '1' });
    await ahead.resolved('k');
    const layer = await resolveWith(ahead, cache, { second: '2' });
    await ahead.resolved('k');
    expect(readdirSync(cache.tmpDir)).toHaveLength(1);
    const tree = await ahead.take('k', layer.diffId);
    expect(existsSync(path.join(tree!, 'second'))).toBe(true);
    expect(existsSync(path.join(tree!, 'first'))).toBe(false);
  });
});
