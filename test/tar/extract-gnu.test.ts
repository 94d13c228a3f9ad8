/**
 * The GNU tar fast path for a bottom layer (tar/extract-gnu.ts) must give exactly the tree `applyEntries`
 * gives — owners, modes with setuid, mtimes, xattrs incl. security.capability, hardlinks, symlinks, nodes,
 * read-only directories, long and non-ASCII names — whichever way it goes (tar reading the file, or the
 * normalized stream piped to tar), and stay inside the root with a hostile layer.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { xattrsAvailable } from '../../src/fsutil/xattr.js';
import { BlobStore } from '../../src/image/blobstore.js';
import { tarballToLayer } from '../../src/sources/tarball.js';
import { entryContent, type TarEntrySpec } from '../../src/tar/entry.js';
import { applyEntries } from '../../src/tar/extract.js';
import { ExtractWhileWritten, extractIntoEmpty, scanNormalized } from '../../src/tar/extract-gnu.js';
import { memberToSpec, readTar } from '../../src/tar/reader.js';
import { walkTree } from '../../src/tar/tree.js';
import { tarChunks } from '../../src/tar/writer.js';
import { requireTools } from '../support/index.js';
import { collect, fileEntry, tmp } from './helpers.js';

const base = { uid: 0, gid: 0, mtime: 1_600_000_000 };
const dir = (p: string, mode = 0o755, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({
  ...base,
  path: p,
  type: 'directory',
  mode,
  ...extra,
});
const file = (p: string, content: string, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({
  ...fileEntry(p, content),
  mtime: base.mtime,
  ...extra,
});

function layer(withXattrs: boolean): TarEntrySpec[] {
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service+ep
  return [
    dir('bin'),
    file('bin/ping', 'ELF', {
      mode: 0o4755,
      ...(withXattrs ? { xattrs: { 'security.capability': cap } } : {}),
    }),
    file('bin/su', 'su', { mode: 0o6750, uid: 0, gid: 42 }),
    dir('dev'),
    { ...base, path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
    { ...base, path: 'dev/fifo', type: 'fifo', mode: 0o620 },
    dir('etc', 0o755, { mtime: 1_500_000_000 }),
    file('etc/hosts', 'localhost\n', withXattrs ? { xattrs: { 'user.origin': Buffer.from('test') } } : {}),
    { ...base, path: 'etc/hosts.link', type: 'hardlink', linkname: 'etc/hosts', mode: 0o644 },
    { ...base, path: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC', mode: 0o777 },
    dir('home'),
    dir('home/app', 0o700, { uid: 1000, gid: 1000 }),
    file('home/app/.profile', 'export A=1\n', { uid: 1000, gid: 1000, mode: 0o600 }),
    dir('ro', 0o555),
    file('ro/inside', 'x', { mode: 0o444 }),
    dir('usr'),
    dir('usr/lib'),
    { ...base, path: 'lib', type: 'symlink', linkname: 'usr/lib', mode: 0o777 },
    file(`usr/lib/${'long-name-'.repeat(15)}.so`, 'long'),
    file('usr/lib/caf\u00e9-\u00fcber.txt', 'unicode'),
    file('usr/lib/empty', ''),
  ];
}

async function writeLayer(entries: TarEntrySpec[], file: string): Promise<void> {
  writeFileSync(file, await collect(tarChunks(entries)));
}

/** The tree as comparable data: every entry's metadata, xattrs and content. */
async function snapshot(root: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const e of walkTree(root)) {
    const content = e.type === 'file' ? (await collect(entryContent(e))).toString('utf8') : undefined;
    const { open: _o, chunks: _c, ...meta } = e;
    out.push({ ...meta, content, xattrs: e.xattrs ? Object.keys(e.xattrs).sort() : undefined });
  }
  return out;
}

async function* specs(bytes: Buffer): AsyncGenerator<TarEntrySpec> {
  for await (const m of readTar(Readable.from([bytes]))) yield memberToSpec(m);
}

/** A layer that climbs out: through a symlink to `outside`, a relative symlink up, `../` names, a hardlink out. */
function hostileLayer(outside: string): TarEntrySpec[] {
  return [
    { ...base, path: 'etc', type: 'symlink', linkname: outside, mode: 0o777 },
    file('etc/passwd', 'pwned'),
    { ...base, path: 'up', type: 'symlink', linkname: '../../..', mode: 0o777 },
    file('up/escape', 'pwned'),
    file('../../dotdot', 'pwned'),
    { ...base, path: 'hl', type: 'hardlink', linkname: '../../../etc/shadow', mode: 0o644 },
  ];
}

/** The writes through hostileLayer's symlinks landed where the symlinks point, inside the root. */
function expectWritesInside(root: string, outside: string): void {
  expect(readFileSync(path.join(root, outside, 'passwd'), 'utf8')).toBe('pwned');
  expect(readFileSync(path.join(root, 'escape'), 'utf8')).toBe('pwned');
  expect(readFileSync(path.join(root, 'dotdot'), 'utf8')).toBe('pwned');
}

describe('extractIntoEmpty (GNU tar) gives the tree applyEntries gives', () => {
  if (!requireTools('root', 'tar')) return;
  const withXattrs = xattrsAvailable();

  it('a layer in normal form: tar reads the file itself', async () => {
    const work = tmp('rootc-gnu-');
    const tarFile = path.join(work, 'layer.tar');
    await writeLayer(layer(withXattrs), tarFile);
    expect(await scanNormalized(tarFile, { devices: true, fifos: true })).toMatchObject({ entries: 21 });
    const [a, b] = [path.join(work, 'a'), path.join(work, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    await applyEntries(specs(readFileSync(tarFile)), a, { whiteouts: 'apply' });
    const report = await extractIntoEmpty(async () => Readable.from([readFileSync(tarFile)]), b, {
      file: tarFile,
    });
    expect(report.entries).toBe(21);
    const want = await snapshot(a);
    expect(want.length).toBeGreaterThan(20);
    expect(await snapshot(b)).toEqual(want);
  });

  it('a layer not in normal form (./ names, a whiteout, a host-only xattr): piped through the normalizer', async () => {
    const work = tmp('rootc-gnu-');
    const tarFile = path.join(work, 'layer.tar');
    const entries = layer(withXattrs).map((e) => ({ ...e, path: `./${e.path}` }));
    entries.push(file('etc/.wh.gone', ''));
    if (withXattrs)
      entries.push(file('opaque', 'o', { xattrs: { 'trusted.overlay.opaque': Buffer.from('y') } }));
    await writeLayer(entries, tarFile);
    expect(await scanNormalized(tarFile, { devices: true, fifos: true })).toBeUndefined();
    const [a, b] = [path.join(work, 'a'), path.join(work, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    const bytes = readFileSync(tarFile);
    await applyEntries(specs(bytes), a, { whiteouts: 'apply' });
    const report = await extractIntoEmpty(async () => Readable.from([bytes]), b, { file: tarFile });
    expect(report.warnings.join('\n')).toMatch(/whiteout/);
    expect(existsSync(path.join(b, 'etc/.wh.gone'))).toBe(false);
    expect(await snapshot(b)).toEqual(await snapshot(a));
  });

  it('nodes it may not make become the marked placeholders applyEntries makes', async () => {
    const work = tmp('rootc-gnu-');
    const tarFile = path.join(work, 'layer.tar');
    await writeLayer(layer(false), tarFile);
    const [a, b] = [path.join(work, 'a'), path.join(work, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    const bytes = readFileSync(tarFile);
    const ra = await applyEntries(specs(bytes), a, {
      whiteouts: 'apply',
      mknod: false,
      nodePlaceholders: true,
    });
    const rb = await extractIntoEmpty(async () => Readable.from([bytes]), b, {
      file: tarFile,
      mknod: false,
      nodePlaceholders: true,
    });
    expect(rb.skippedNodes).toEqual(ra.skippedNodes);
    expect(rb.skippedNodes.map((n) => n.path)).toEqual(['/dev/null', '/dev/fifo']);
    // walkTree reads placeholders back as the nodes they stand for.
    const tree = await snapshot(b);
    expect(tree).toContainEqual(expect.objectContaining({ path: 'dev/null', type: 'char', devmajor: 1 }));
    expect(tree).toEqual(await snapshot(a));
  });

  it('a hostile layer stays inside the root', async () => {
    const work = tmp('rootc-gnu-');
    const outside = path.join(work, 'outside');
    mkdirSync(outside);
    const tarFile = path.join(work, 'layer.tar');
    await writeLayer(hostileLayer(outside), tarFile);
    const root = path.join(work, 'root');
    mkdirSync(root);
    await extractIntoEmpty(async () => Readable.from([readFileSync(tarFile)]), root, { file: tarFile });
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(work).sort()).toEqual(['layer.tar', 'outside', 'root']);
    expectWritesInside(root, outside);
    expect(existsSync(path.join(root, 'hl'))).toBe(false);
  });
});

describe('ExtractWhileWritten: a layer extracted by GNU tar while a conversion writes it', () => {
  if (!requireTools('root', 'tar')) return;
  const withXattrs = xattrsAvailable();

  /** Converts a foreign tarball (written from `entries`) with `tap` watching, as FROM tarball does. */
  async function convert(entries: TarEntrySpec[], tap: ExtractWhileWritten) {
    const work = tmp('rootc-ahead-');
    const bytes = await collect(tarChunks(entries));
    const store = new BlobStore(path.join(work, 'store'));
    const layer = await tarballToLayer(() => Readable.from([bytes]), store, { compression: 'none', tap });
    return { layer, store };
  }

  it('gives the tree the stored layer gives, once the layer is stored, and names it by its diff_id', async () => {
    const work = tmp('rootc-ahead-');
    const [a, b] = [path.join(work, 'a'), path.join(work, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    const tap = new ExtractWhileWritten(b);
    // A foreign tarball: ./ names, a path through one of its own symlinks (normalized on the way).
    const entries = [
      ...layer(withXattrs).map((e) => ({ ...e, path: `./${e.path}` })),
      file('lib/through-symlink', 'x'),
    ];
    const { layer: stored, store } = await convert(entries, tap);
    expect(await tap.done).toBe(stored.diffId);
    await applyEntries(specs(readFileSync(store.path(stored.digest))), a, { whiteouts: 'apply' });
    const want = await snapshot(a);
    expect(want).toContainEqual(expect.objectContaining({ path: 'usr/lib/through-symlink' }));
    expect(await snapshot(b)).toEqual(want);
  });

  it('keeps a hostile tarball inside the root (tar only sees the normalized layer)', async () => {
    const work = tmp('rootc-ahead-');
    const outside = path.join(work, 'outside');
    const root = path.join(work, 'root');
    mkdirSync(outside);
    mkdirSync(root);
    const tap = new ExtractWhileWritten(root);
    const { layer: stored } = await convert(hostileLayer(outside), tap);
    expect(await tap.done).toBe(stored.diffId);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(work).sort()).toEqual(['outside', 'root']);
    expectWritesInside(root, outside);
  });

  it('is spoiled by what it may not hand to tar as it is: a host-only xattr', async () => {
    const root = tmp('rootc-ahead-');
    const tap = new ExtractWhileWritten(root);
    const { layer: stored } = await convert(
      [
        dir('d'),
        file('d/f', 'f', { xattrs: { 'trusted.overlay.opaque': Buffer.from('y') } }),
        file('g', 'g'),
      ],
      tap,
    );
    expect(stored.diffId).toMatch(/^sha256:/);
    expect(await tap.done).toBeUndefined();
  });

  it('is spoiled when writing the layer fails, and when tar fails', async () => {
    const root = tmp('rootc-ahead-');
    const tap = new ExtractWhileWritten(root);
    const store = new BlobStore(path.join(tmp('rootc-ahead-'), 'store'));
    const broken = Buffer.concat([await collect(tarChunks([file('a', 'x'.repeat(4096))]))]).subarray(0, 1024);
    await expect(
      tarballToLayer(() => Readable.from([broken]), store, { compression: 'none', tap }),
    ).rejects.toThrow();
    expect(await tap.done).toBeUndefined();

    // tar cannot write into a directory that does not exist.
    const gone = new ExtractWhileWritten(path.join(tmp('rootc-ahead-'), 'missing'));
    const { layer: stored } = await convert([file('a', 'a'), file('b', 'b')], gone);
    expect(stored.size).toBeGreaterThan(0);
    expect(await gone.done).toBeUndefined();
  });
});
