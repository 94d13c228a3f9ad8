import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LayerMaker, makeLayer } from '../../src/build/layers.js';
import { BlobStore } from '../../src/image/blobstore.js';
import type { DiffSource } from '../../src/snapshot/types.js';
import { listTar } from '../tar/helpers.js';

const diffDir = (files: Record<string, string>): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rootc-layers-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
};
const source = (upper: string): DiffSource => ({ upper, lowers: [], pruneUnchangedDirs: false });
const options = { compression: 'none' as const, clampMtime: 0 };

describe('layers of committed snapshots', () => {
  it('LayerMaker gives the layer makeLayer gives, in order, and none for an empty diff', async () => {
    const store = new BlobStore(mkdtempSync(path.join(tmpdir(), 'rootc-layers-store-')));
    const a = diffDir({ 'etc/a.conf': 'a\n', 'usr/bin/tool': 'x'.repeat(70_000) });
    const b = diffDir({ 'data/b': 'b\n' });
    const empty = diffDir({});
    const maker = new LayerMaker(store);
    maker.start();
    const made = await Promise.all([source(a), source(b), source(empty)].map((s) => maker.make(s, options)));
    await maker.close();
    expect(made[2]).toBeUndefined();
    expect(made[0]).toEqual(await makeLayer(store, source(a), options));
    expect(made[1]).toEqual(await makeLayer(store, source(b), options));
    const names = (await listTar(readFileSync(store.path(made[0]!.digest)))).map((e) => e.path);
    expect(names).toEqual(['etc/', 'etc/a.conf', 'usr/', 'usr/bin/', 'usr/bin/tool']);
    // Every mtime is clamped to the epoch the options give.
    for (const e of await listTar(readFileSync(store.path(made[1]!.digest)))) expect(e.mtime).toBe(0);
  });

  it('reports a diff dir that cannot be read, and goes on with the next job', async () => {
    const store = new BlobStore(mkdtempSync(path.join(tmpdir(), 'rootc-layers-store-')));
    const maker = new LayerMaker(store);
    await expect(maker.make(source('/nonexistent/rootc-diff'), options)).rejects.toThrow(/ENOENT/);
    const ok = await maker.make(source(diffDir({ f: 'f' })), options);
    expect(ok?.size).toBeGreaterThan(0);
    await maker.close();
  });
});
