import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeXattr } from '../../src/fsutil/xattr.js';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { walkTree } from '../../src/tar/tree.js';
import { TarSizeError, tarChunks } from '../../src/tar/writer.js';
import { collect, fileEntry, hasTool, listTar, tmp } from './helpers.js';

function makeTree(root: string, mtime: number): void {
  mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  mkdirSync(path.join(root, 'a'), { recursive: true });
  writeFileSync(path.join(root, 'a.b'), 'dot');
  writeFileSync(path.join(root, 'a/x'), 'x');
  writeFileSync(path.join(root, 'usr/bin/tool'), 'tool-bytes');
  chmodSync(path.join(root, 'usr/bin/tool'), 0o4755);
  linkSync(path.join(root, 'usr/bin/tool'), path.join(root, 'usr/bin/tool2'));
  symlinkSync('/usr/bin/tool', path.join(root, 'link'));
  writeFileSync(path.join(root, `${'d'.repeat(150)}`), 'long');
  writeFileSync(path.join(root, 'ünï'), 'utf8');
  writeXattr(path.join(root, 'a/x'), 'user.note', Buffer.from([0, 1, 0xff, 0x80]));
  for (const p of ['usr/bin/tool', 'a/x', 'a.b', 'a', 'usr/bin', 'usr', 'ünï', 'd'.repeat(150)]) {
    utimesSync(path.join(root, p), mtime, mtime);
  }
}

async function treeTar(root: string, clamp?: number): Promise<Buffer> {
  return collect(tarChunks(walkTree(root), clamp === undefined ? {} : { clampMtime: clamp }));
}

describe('tar writer', () => {
  it('gives the same bytes for the same tree, from different dirs and at different times', async () => {
    const a = tmp();
    const b = tmp('other-prefix-');
    makeTree(a, 1_600_000_000);
    await new Promise((r) => setTimeout(r, 1100));
    makeTree(b, 1_600_000_000);
    const ta = await treeTar(a, 1_500_000_000);
    const tb = await treeTar(b, 1_500_000_000);
    expect(ta.equals(tb)).toBe(true);
    expect(ta.length % 512).toBe(0);
  });

  it('walks in byte order of full paths with hardlinks as links', async () => {
    const root = tmp();
    makeTree(root, 1_600_000_000);
    const entries = await listTar(await treeTar(root));
    const paths = entries.map((e) => e.path);
    expect(paths).toEqual([
      'a/',
      'a.b',
      'a/x',
      `${'d'.repeat(150)}`,
      'link',
      'usr/',
      'usr/bin/',
      'usr/bin/tool',
      'usr/bin/tool2',
      'ünï',
    ]);
    const tool = entries.find((e) => e.path === 'usr/bin/tool')!;
    expect(tool.mode).toBe(0o4755);
    expect(tool.content).toBe('tool-bytes');
    const link2 = entries.find((e) => e.path === 'usr/bin/tool2')!;
    expect(link2).toMatchObject({ type: 'hardlink', linkname: 'usr/bin/tool' });
    expect(entries.find((e) => e.path === 'link')).toMatchObject({
      type: 'symlink',
      linkname: '/usr/bin/tool',
    });
    expect(entries.find((e) => e.path === 'a/x')!.xattrs).toEqual({
      'user.note': Buffer.from([0, 1, 0xff, 0x80]),
    });
  });

  it('writes PAX for long names, big ids, far mtimes and binary xattrs, readable by GNU tar', async () => {
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const long = `${'dir/'.repeat(40)}file`;
    const entries: TarEntrySpec[] = [
      fileEntry(long, 'deep', { uid: 3_000_000, gid: 4_000_000 }),
      fileEntry('cap', 'c', { xattrs: { 'security.capability': cap } }),
      { path: 'sym', type: 'symlink', linkname: 'x'.repeat(120), mode: 0o777, uid: 0, gid: 0, mtime: 0 },
      { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0, mtime: 5 },
      fileEntry('future', 'f', { mtime: 2 ** 34 }),
    ];
    const bytes = await collect(tarChunks(entries));
    const back = await listTar(bytes);
    expect(back[0]).toMatchObject({ path: long, uid: 3_000_000, gid: 4_000_000, content: 'deep' });
    expect(back[1]!.xattrs!['security.capability']!.equals(cap)).toBe(true);
    expect(back[2]!.linkname).toBe('x'.repeat(120));
    expect(back[3]).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
    expect(back[4]!.mtime).toBe(2 ** 34);
    if (hasTool('tar')) {
      const dir = tmp();
      writeFileSync(path.join(dir, 'x.tar'), bytes);
      const listing = execFileSync('tar', ['--numeric-owner', '-tvf', path.join(dir, 'x.tar')], {
        encoding: 'utf8',
      });
      expect(listing).toContain(long);
      expect(listing).toContain('3000000/4000000');
    }
  });

  it('clamps mtimes when asked and leaves older ones', async () => {
    const bytes = await collect(
      tarChunks([fileEntry('new', 'n', { mtime: 2000 }), fileEntry('old', 'o', { mtime: 10 })], {
        clampMtime: 100,
      }),
    );
    const back = await listTar(bytes);
    expect(back.map((e) => e.mtime)).toEqual([100, 10]);
  });

  it('refuses a file whose size changed while it was read', async () => {
    const grew = fileEntry('f', 'abc', { size: 2 });
    await expect(collect(tarChunks([grew]))).rejects.toBeInstanceOf(TarSizeError);
    const shrank: TarEntrySpec = {
      ...fileEntry('g', 'a'),
      size: 5,
      open: () => Readable.from([Buffer.from('a')]),
    };
    await expect(collect(tarChunks([shrank]))).rejects.toThrow(/changed size/);
  });
});
