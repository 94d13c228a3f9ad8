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
import { entryContent, type TarEntrySpec } from '../../src/tar/entry.js';
import { applyEntries } from '../../src/tar/extract.js';
import { extractIntoEmpty, scanNormalized } from '../../src/tar/extract-gnu.js';
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
    await writeLayer(
      [
        { ...base, path: 'etc', type: 'symlink', linkname: outside, mode: 0o777 },
        file('etc/passwd', 'pwned'),
        { ...base, path: 'up', type: 'symlink', linkname: '../../..', mode: 0o777 },
        file('up/escape', 'pwned'),
        file('../../dotdot', 'pwned'),
        { ...base, path: 'hl', type: 'hardlink', linkname: '../../../etc/shadow', mode: 0o644 },
      ],
      tarFile,
    );
    const root = path.join(work, 'root');
    mkdirSync(root);
    await extractIntoEmpty(async () => Readable.from([readFileSync(tarFile)]), root, { file: tarFile });
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(work).sort()).toEqual(['layer.tar', 'outside', 'root']);
    // The writes through the symlinks landed where the symlinks point, inside the root.
    expect(readFileSync(path.join(root, outside, 'passwd'), 'utf8')).toBe('pwned');
    expect(readFileSync(path.join(root, 'escape'), 'utf8')).toBe('pwned');
    expect(readFileSync(path.join(root, 'dotdot'), 'utf8')).toBe('pwned');
    expect(existsSync(path.join(root, 'hl'))).toBe(false);
  });
});
