import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { applyEntries, extractTar } from '../../src/tar/extract.js';
import { walkTree } from '../../src/tar/tree.js';
import { tarChunks } from '../../src/tar/writer.js';
import { collect, fileEntry, tmp } from './helpers.js';

const dir = (p: string, mode = 0o755): TarEntrySpec => ({
  path: p,
  type: 'directory',
  mode,
  uid: 0,
  gid: 0,
  mtime: 100,
});
const sym = (p: string, target: string): TarEntrySpec => ({
  path: p,
  type: 'symlink',
  linkname: target,
  mode: 0o777,
  uid: 0,
  gid: 0,
  mtime: 100,
});
const hard = (p: string, target: string): TarEntrySpec => ({
  path: p,
  type: 'hardlink',
  linkname: target,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: 100,
});

/** A root inside an otherwise empty `outer` dir, so an escape would show up as a sibling. */
function sandbox(): { outer: string; root: string } {
  const outer = tmp('rootc-x-');
  const root = path.join(outer, 'root');
  mkdirSync(root);
  return { outer, root };
}

async function extract(entries: TarEntrySpec[], root: string, options = {}) {
  const bytes = await collect(tarChunks(entries));
  return extractTar(Readable.from([bytes]), root, options);
}

describe('extract: hostile archives stay inside the root', () => {
  it('clamps ../ and absolute names', async () => {
    const { outer, root } = sandbox();
    await extract(
      [fileEntry('../../escape', 'a'), fileEntry('/abs/file', 'b'), fileEntry('./x/../../y', 'c')],
      root,
    );
    expect(readFileSync(path.join(root, 'escape'), 'utf8')).toBe('a');
    expect(readFileSync(path.join(root, 'abs/file'), 'utf8')).toBe('b');
    expect(readFileSync(path.join(root, 'y'), 'utf8')).toBe('c');
    expect(readdirSync(outer)).toEqual(['root']);
  });

  it('resolves an absolute symlink planted by an earlier entry inside the root', async () => {
    const { outer, root } = sandbox();
    const hostPasswd = readFileSync('/etc/passwd');
    const report = await extract(
      [
        sym('etc', '/etc'),
        fileEntry('etc/passwd', 'evil'),
        sym('evil', '/etc'),
        fileEntry('evil/passwd', 'evil2'),
      ],
      root,
    );
    expect(readFileSync('/etc/passwd').equals(hostPasswd)).toBe(true);
    // `etc -> /etc` is a loop inside the root: the entry through it is dropped, with a warning.
    expect(report.warnings.join('\n')).toMatch(/etc\/passwd/);
    expect(readlinkSync(path.join(root, 'evil'))).toBe('/etc');
    expect(readdirSync(outer)).toEqual(['root']);
  });

  it('resolves relative symlinks that climb out inside the root', async () => {
    const { outer, root } = sandbox();
    await extract(
      [
        sym('up', '../../../../../../tmp'),
        fileEntry('up/x', 'x'),
        dir('sub'),
        sym('d', 'sub'),
        fileEntry('d/f', 'f'),
      ],
      root,
    );
    expect(readFileSync(path.join(root, 'tmp/x'), 'utf8')).toBe('x');
    expect(readFileSync(path.join(root, 'sub/f'), 'utf8')).toBe('f');
    expect(lstatSync(path.join(root, 'd')).isSymbolicLink()).toBe(true);
    expect(readdirSync(outer)).toEqual(['root']);
  });

  it('resolves hardlink targets inside the root', async () => {
    const { outer, root } = sandbox();
    const before = statSync('/etc/passwd').nlink;
    const report = await extract(
      [hard('pw', '../../etc/passwd'), fileEntry('etc/passwd', 'inside'), hard('pw2', '/../etc/passwd')],
      root,
    );
    expect(statSync('/etc/passwd').nlink).toBe(before);
    expect(report.warnings.join()).toMatch(/hardlink to a missing file/);
    expect(existsSync(path.join(root, 'pw'))).toBe(false);
    expect(statSync(path.join(root, 'pw2')).ino).toBe(statSync(path.join(root, 'etc/passwd')).ino);
    expect(readdirSync(outer)).toEqual(['root']);
  });

  it('replaces a symlink with a file instead of writing through it', async () => {
    const { outer, root } = sandbox();
    const victim = path.join(outer, 'victim');
    await extract([sym('f', victim), fileEntry('f', 'x')], root);
    expect(existsSync(victim)).toBe(false);
    expect(readFileSync(path.join(root, 'f'), 'utf8')).toBe('x');
  });
});

describe('extract: whiteouts', () => {
  async function base() {
    const { root } = sandbox();
    await applyEntries(
      [
        dir('a'),
        fileEntry('a/b', 'b'),
        fileEntry('a/c', 'c'),
        dir('a/sub'),
        fileEntry('a/sub/z', 'z'),
        fileEntry('d', 'd'),
      ],
      root,
    );
    return root;
  }
  it('apply: .wh.name deletes, .wh..wh..opq empties what the layer did not bring', async () => {
    const root = await base();
    await applyEntries([fileEntry('a/.wh.b', ''), fileEntry('.wh.d', '')], root);
    expect(readdirSync(path.join(root, 'a')).sort()).toEqual(['c', 'sub']);
    expect(existsSync(path.join(root, 'd'))).toBe(false);
    await applyEntries([dir('a'), fileEntry('a/.wh..wh..opq', ''), fileEntry('a/new', 'n')], root);
    expect(readdirSync(path.join(root, 'a'))).toEqual(['new']);
  });
  it('apply: opaque marker after the new entries keeps them', async () => {
    const root = await base();
    await applyEntries([dir('a'), fileEntry('a/+first', '1'), fileEntry('a/.wh..wh..opq', '')], root);
    expect(readdirSync(path.join(root, 'a'))).toEqual(['+first']);
  });
  it('keep: whiteouts are plain files', async () => {
    const root = await base();
    await applyEntries([fileEntry('a/.wh.b', '')], root, { whiteouts: 'keep' });
    expect(readdirSync(path.join(root, 'a')).sort()).toEqual(['.wh.b', 'b', 'c', 'sub']);
  });
  it('overlay: 0/0 char devices and the opaque xattr', async () => {
    if (process.getuid?.() !== 0) return;
    const root = await base();
    await applyEntries([fileEntry('a/.wh.b', ''), fileEntry('a/sub/.wh..wh..opq', '')], root, {
      whiteouts: 'overlay',
    });
    const st = lstatSync(path.join(root, 'a/b'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    const { readXattrs } = await import('../../src/fsutil/xattr.js');
    expect(readXattrs(path.join(root, 'a/sub'), () => true)?.['trusted.overlay.opaque']?.toString()).toBe(
      'y',
    );
    await applyEntries([fileEntry('d2/.wh..wh..opq', '')], root, {
      whiteouts: 'overlay',
      overlayOpaqueXattr: 'user.overlay.opaque',
    });
    expect(readXattrs(path.join(root, 'd2'), () => true)?.['user.overlay.opaque']?.toString()).toBe('y');
  });
});

describe('extract: metadata', () => {
  it('applies modes incl. setuid, owners, mtimes, xattrs, devices; round-trips to the same tar', async () => {
    const { root } = sandbox();
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const entries: TarEntrySpec[] = [
      dir('bin', 0o555),
      fileEntry('bin/su', 'su', { mode: 0o4755, uid: 0, gid: 0 }),
      fileEntry('bin/ping', 'ping', { mode: 0o755, xattrs: { 'security.capability': cap } }),
      hard('bin/su2', 'bin/su'),
      dir('dev'),
      { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0, mtime: 100 },
      { path: 'dev/pipe', type: 'fifo', mode: 0o600, uid: 0, gid: 0, mtime: 100 },
      fileEntry('home/file', 'h', { uid: 1234, gid: 5678, mtime: 1234567 }),
    ];
    const report = await extract(entries, root);
    expect(statSync(path.join(root, 'bin')).mode & 0o7777).toBe(0o555);
    expect(statSync(path.join(root, 'bin/su')).mode & 0o7777).toBe(0o4755);
    expect(statSync(path.join(root, 'bin/su2')).ino).toBe(statSync(path.join(root, 'bin/su')).ino);
    expect(statSync(path.join(root, 'home/file')).mtimeMs).toBe(1234567000);
    if (process.getuid?.() === 0) {
      expect(report.skippedNodes).toEqual([]);
      expect(statSync(path.join(root, 'home/file')).uid).toBe(1234);
      expect(lstatSync(path.join(root, 'dev/null')).rdev).toBe(statSync('/dev/null').rdev);
      expect(lstatSync(path.join(root, 'dev/pipe')).isFIFO()).toBe(true);
      const again = await collect(tarChunks(walkTree(root)));
      const first = await collect(tarChunks(walkTree(root)));
      expect(again.equals(first)).toBe(true);
      const rebuilt = sandbox().root;
      await extractTar(Readable.from([first]), rebuilt);
      expect((await collect(tarChunks(walkTree(rebuilt)))).equals(first)).toBe(true);
      const back = [];
      for await (const e of walkTree(rebuilt)) back.push(e);
      expect(back.find((e) => e.path === 'bin/ping')!.xattrs!['security.capability']!.equals(cap)).toBe(true);
    }
  });
  it('records device nodes it cannot make, never fails on them', async () => {
    const { root } = sandbox();
    const report = await extract(
      [{ path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660, uid: 0, gid: 6, mtime: 1 }],
      root,
      { mknod: false },
    );
    expect(report.skippedNodes).toEqual([
      { path: '/dev/sda', type: 'block', major: 8, minor: 0, mode: 0o660, uid: 0, gid: 6 },
    ]);
  });
});

describe('extract: replacing symlinks', () => {
  it('writes below a directory that replaced a symlink, not through the old link', async () => {
    const { root } = sandbox();
    await applyEntries(
      [
        dir('usr'),
        dir('usr/lib'),
        sym('lib', 'usr/lib'),
        fileEntry('lib/a', 'a'),
        dir('lib'),
        fileEntry('lib/b', 'b'),
      ],
      root,
    );
    expect(readFileSync(path.join(root, 'usr/lib/a'), 'utf8')).toBe('a');
    expect(readFileSync(path.join(root, 'lib/b'), 'utf8')).toBe('b');
    expect(existsSync(path.join(root, 'usr/lib/b'))).toBe(false);
  });
});

describe('extract: errors', () => {
  it('turns a corrupt archive into a diagnostic naming where it stopped', async () => {
    const { root } = sandbox();
    const good = await collect(tarChunks([fileEntry('ok', 'fine')]));
    const corrupt = Buffer.concat([good.subarray(0, 1024), Buffer.alloc(512, 0x41)]);
    await expect(extractTar(Readable.from([corrupt]), root)).rejects.toThrow(
      /extraction failed at \/ok: invalid tar header/,
    );
  });
});
