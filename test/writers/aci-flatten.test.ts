/**
 * image/flatten.ts (the final tree streamed from the layers, used by the aci and rootfs outputs): whiteouts,
 * opaque directories, a directory replaced by a file, hardlinks whose target a higher layer replaced, device
 * nodes and xattrs; and the same tree as unpacking the layers one by one on disk (materializeImage).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/image/blobstore.js';
import { flattenLayers } from '../../src/image/flatten.js';
import { appendLayer, emptyImage, type Image } from '../../src/image/image.js';
import { storeLayer } from '../../src/image/layer.js';
import { materializeImage } from '../../src/sources/source.js';
import { decompressStream } from '../../src/tar/compress.js';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { readTar } from '../../src/tar/reader.js';
import { walkTree } from '../../src/tar/tree.js';
import { writeRootfsFromLayers } from '../../src/writers/rootfs-layers.js';
import { tempDir } from '../support/index.js';

const base = { uid: 0, gid: 0, mtime: 1000 };
const dir = (path: string, mode = 0o755): TarEntrySpec => ({ path, type: 'directory', mode, ...base });
const file = (path: string, text: string, mode = 0o644, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({
  path,
  type: 'file',
  mode,
  ...base,
  size: Buffer.byteLength(text),
  open: () => Readable.from([Buffer.from(text)]),
  ...extra,
});
const hardlink = (path: string, target: string): TarEntrySpec => ({
  path,
  type: 'hardlink',
  linkname: target,
  mode: 0o644,
  ...base,
});
const symlink = (path: string, target: string): TarEntrySpec => ({
  path,
  type: 'symlink',
  linkname: target,
  mode: 0o777,
  ...base,
});
const whiteout = (path: string): TarEntrySpec => file(path, '');

async function imageOf(store: BlobStore, layers: TarEntrySpec[][]): Promise<Image> {
  let img = emptyImage();
  for (const entries of layers)
    img = appendLayer(img, await storeLayer(store, entries, { compression: 'gzip' }));
  return img;
}

interface Seen {
  type: string;
  mode: number;
  uid: number;
  content?: string;
  linkname?: string;
  dev?: string;
  xattrs?: string[];
}

/** path → what a consumer sees; hardlinks resolved to their target's content. */
async function collect(entries: AsyncIterable<TarEntrySpec>): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  for await (const e of entries) {
    const s: Seen = { type: e.type, mode: e.mode, uid: e.uid };
    if (e.type === 'file' && e.open) {
      const h = createHash('sha256');
      for await (const c of e.open()) h.update(c as Buffer);
      s.content = h.digest('hex').slice(0, 16);
    }
    if (e.type === 'hardlink') {
      const t = out.get(e.linkname!);
      expect(t, `hardlink ${e.path} → ${e.linkname} comes after its target`).toBeDefined();
      s.type = 'file';
      s.content = t!.content;
    }
    if (e.type === 'symlink') s.linkname = e.linkname;
    if (e.type === 'char' || e.type === 'block') s.dev = `${e.devmajor}:${e.devminor}`;
    if (e.xattrs) s.xattrs = Object.keys(e.xattrs).sort();
    expect(out.has(e.path), `${e.path} appears once`).toBe(false);
    out.set(e.path, s);
  }
  return out;
}

describe('flattenLayers', () => {
  it('applies whiteouts, opaque dirs and replaced directories across layers', async () => {
    const store = new BlobStore(await tempDir('flatten-store'));
    const img = await imageOf(store, [
      [
        dir('a'),
        file('a/keep', 'k'),
        file('a/gone', 'g'),
        dir('b'),
        file('b/old', 'o'),
        dir('c'),
        dir('c/d'),
        file('c/d/x', 'x'),
        file('top', '1'),
      ],
      [
        whiteout('a/.wh.gone'),
        dir('b'),
        whiteout('b/.wh..wh..opq'),
        file('b/new', 'n'),
        file('c', 'now a file'),
      ],
      [file('top', '3', 0o600), dir('a', 0o700), file('a/gone', 'again')],
    ]);
    const seen = await collect(flattenLayers(store, img));
    expect([...seen.keys()].sort()).toEqual(['a', 'a/gone', 'a/keep', 'b', 'b/new', 'c', 'top']);
    expect(seen.get('a')!.mode).toBe(0o700);
    expect(seen.get('top')!.mode).toBe(0o600);
    expect(seen.get('c')!.type).toBe('file');
  });

  it('keeps device nodes, xattrs and symlinks; a hardlink whose target was replaced keeps the old content', async () => {
    const store = new BlobStore(await tempDir('flatten-store'));
    const img = await imageOf(store, [
      [
        dir('dev'),
        { path: 'dev/null', type: 'char', mode: 0o666, ...base, devmajor: 1, devminor: 3 },
        dir('bin'),
        file('bin/ping', 'ping', 0o755, { xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2]) } }),
        file('bin/a', 'old content', 0o755),
        hardlink('bin/b', 'bin/a'),
        hardlink('bin/c', 'bin/a'),
        symlink('bin/sh', 'busybox'),
      ],
      [dir('bin'), file('bin/a', 'new content', 0o755), hardlink('bin/d', 'bin/ping')],
    ]);
    const seen = await collect(flattenLayers(store, img));
    expect(seen.get('dev/null')).toMatchObject({ type: 'char', dev: '1:3', mode: 0o666 });
    expect(seen.get('bin/ping')!.xattrs).toEqual(['security.capability']);
    expect(seen.get('bin/sh')!.linkname).toBe('busybox');
    const oldHash = createHash('sha256').update('old content').digest('hex').slice(0, 16);
    const newHash = createHash('sha256').update('new content').digest('hex').slice(0, 16);
    expect(seen.get('bin/a')!.content).toBe(newHash);
    expect(seen.get('bin/b')!.content).toBe(oldHash);
    expect(seen.get('bin/c')!.content).toBe(oldHash);
    expect(seen.get('bin/d')!.content).toBe(seen.get('bin/ping')!.content);
  });

  it('gives the tree that unpacking the layers on disk gives', async () => {
    const store = new BlobStore(await tempDir('flatten-store'));
    const img = await imageOf(store, [
      [
        dir('etc'),
        file('etc/passwd', 'root'),
        dir('var'),
        dir('var/lib'),
        file('var/lib/x', 'x'),
        file('f', '1'),
      ],
      [dir('var'), whiteout('var/.wh.lib'), dir('etc'), file('etc/group', 'g'), hardlink('g2', 'etc/group')],
      [
        whiteout('.wh.f'),
        dir('var'),
        dir('var/lib'),
        whiteout('var/lib/.wh..wh..opq'),
        file('var/lib/y', 'y'),
      ],
    ]);
    const root = await tempDir('flatten-tree');
    await materializeImage(store, img, root);
    const onDisk = await collect(walkTree(root, { xattrs: false }));
    const streamed = await collect(flattenLayers(store, img));
    expect(new Map([...streamed].sort())).toEqual(new Map([...onDisk].sort()));
  });

  it('drops a hardlink to a path no layer has, with a warning', async () => {
    const store = new BlobStore(await tempDir('flatten-store'));
    const img = await imageOf(store, [[file('a', 'a')], [hardlink('b', 'nowhere'), hardlink('c', 'a')]]);
    const warnings: string[] = [];
    const seen = await collect(flattenLayers(store, img, { onWarning: (w) => warnings.push(w) }));
    expect([...seen.keys()].sort()).toEqual(['a', 'c']);
    expect(warnings).toEqual(['b: hardlink to nowhere, which no layer below has; entry dropped']);
  });

  it('writes the rootfs output from the layers, compressed as asked and reproducibly', async () => {
    const store = new BlobStore(await tempDir('flatten-store'));
    const img = await imageOf(store, [
      [dir('dev'), { path: 'dev/null', type: 'char', mode: 0o666, ...base, devmajor: 1, devminor: 3 }],
      [file('etc-file', 'x', 0o600)],
    ]);
    const out = await tempDir('flatten-rootfs');
    for (const compression of ['none', 'gzip', 'xz'] as const) {
      const a = path.join(out, `a-${compression}.tar`);
      const b = path.join(out, `b-${compression}.tar`);
      await writeRootfsFromLayers(store, img, a, { compression, clampMtime: 500 });
      await writeRootfsFromLayers(store, img, b, { compression, clampMtime: 500 });
      expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
      const { compression: detected, stream } = await decompressStream(createReadStream(a));
      expect(detected).toBe(compression);
      const names: string[] = [];
      for await (const m of readTar(stream as AsyncIterable<Buffer>)) {
        names.push(`${m.header.type}:${m.header.name}:${m.header.mtime}`);
      }
      expect(names).toEqual(['directory:dev/:500', 'char:dev/null:500', 'file:etc-file:500']);
    }
  });

  it('an opaque root hides every lower layer', async () => {
    const store = new BlobStore(await tempDir('flatten-store'));
    const img = await imageOf(store, [
      [file('a', 'a'), dir('d'), file('d/x', 'x')],
      [whiteout('.wh..wh..opq'), file('b', 'b')],
    ]);
    expect([...(await collect(flattenLayers(store, img))).keys()]).toEqual(['b']);
  });
});
