import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyIntoRootfs } from '../../src/build/copy.js';

function tmp(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

function setup() {
  const src = tmp('rootc-copy-src-');
  mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
  writeFileSync(path.join(src, 'file.txt'), 'hello');
  writeFileSync(path.join(src, 'dir/a'), 'A', { mode: 0o700 });
  writeFileSync(path.join(src, 'dir/sub/b'), 'B');
  linkSync(path.join(src, 'dir/a'), path.join(src, 'dir/a-link'));
  symlinkSync('a', path.join(src, 'dir/sym'));
  const rootfs = tmp('rootc-copy-root-');
  mkdirSync(path.join(rootfs, 'existing'));
  return { src, rootfs };
}

describe('copyIntoRootfs', () => {
  it('copies a file to a file path, creating parents', () => {
    const { src, rootfs } = setup();
    copyIntoRootfs({
      rootfs,
      sources: [{ abs: path.join(src, 'file.txt'), name: 'file.txt' }],
      dest: '/a/b/c.txt',
      destIsDir: false,
    });
    expect(readFileSync(path.join(rootfs, 'a/b/c.txt'), 'utf8')).toBe('hello');
    expect(lstatSync(path.join(rootfs, 'a/b')).mode & 0o777).toBe(0o755);
  });
  it('copies a file into an existing directory or a trailing-slash destination', () => {
    const { src, rootfs } = setup();
    copyIntoRootfs({
      rootfs,
      sources: [{ abs: path.join(src, 'file.txt'), name: 'file.txt' }],
      dest: '/existing',
      destIsDir: false,
    });
    copyIntoRootfs({
      rootfs,
      sources: [{ abs: path.join(src, 'file.txt'), name: 'file.txt' }],
      dest: '/new/',
      destIsDir: true,
    });
    expect(existsSync(path.join(rootfs, 'existing/file.txt'))).toBe(true);
    expect(existsSync(path.join(rootfs, 'new/file.txt'))).toBe(true);
  });
  it('copies a directory’s contents, keeping modes, symlinks and hardlinks', () => {
    const { src, rootfs } = setup();
    copyIntoRootfs({
      rootfs,
      sources: [{ abs: path.join(src, 'dir'), name: 'dir' }],
      dest: '/opt',
      destIsDir: false,
    });
    expect(existsSync(path.join(rootfs, 'opt/dir'))).toBe(false);
    expect(readFileSync(path.join(rootfs, 'opt/sub/b'), 'utf8')).toBe('B');
    expect(lstatSync(path.join(rootfs, 'opt/a')).mode & 0o777).toBe(0o700);
    expect(readlinkSync(path.join(rootfs, 'opt/sym'))).toBe('a');
    expect(lstatSync(path.join(rootfs, 'opt/a')).ino).toBe(lstatSync(path.join(rootfs, 'opt/a-link')).ino);
  });
  it('applies --chmod and --chown', () => {
    const { src, rootfs } = setup();
    copyIntoRootfs({
      rootfs,
      sources: [{ abs: path.join(src, 'file.txt'), name: 'file.txt' }],
      dest: '/f',
      destIsDir: false,
      mode: 0o640,
      owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    });
    expect(lstatSync(path.join(rootfs, 'f')).mode & 0o7777).toBe(0o640);
  });
  it('keeps writes inside the rootfs when the image has symlinks pointing out', () => {
    const { src, rootfs } = setup();
    const outside = tmp('rootc-copy-outside-');
    symlinkSync(outside, path.join(rootfs, 'escape'));
    symlinkSync('../../../../../../../../..' + outside, path.join(rootfs, 'escape-rel'));
    copyIntoRootfs({
      rootfs,
      sources: [{ abs: path.join(src, 'file.txt'), name: 'file.txt' }],
      dest: '/escape/x',
      destIsDir: false,
    });
    copyIntoRootfs({
      rootfs,
      sources: [{ abs: path.join(src, 'dir'), name: 'dir' }],
      dest: '/escape-rel/',
      destIsDir: true,
    });
    expect(existsSync(path.join(outside, 'x'))).toBe(false);
    expect(existsSync(path.join(outside, 'a'))).toBe(false);
    expect(readFileSync(path.join(rootfs, outside, 'x'), 'utf8')).toBe('hello');
  });
});
