import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanImagePath, resolveInRoot } from '../../src/fsutil/securejoin.js';

describe('resolveInRoot', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rootc-sj-'));
  mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  symlinkSync('usr/lib', path.join(root, 'lib'));
  symlinkSync('/etc', path.join(root, 'etc-abs'));
  symlinkSync('../../../../../../etc', path.join(root, 'usr/escape'));
  symlinkSync('loop2', path.join(root, 'loop1'));
  symlinkSync('loop1', path.join(root, 'loop2'));

  it('keeps .. inside the root', () => {
    expect(resolveInRoot(root, '../../etc/passwd')).toBe(path.join(root, 'etc/passwd'));
  });
  it('resolves relative symlinks in intermediate components', () => {
    expect(resolveInRoot(root, '/lib/libc.so')).toBe(path.join(root, 'usr/lib/libc.so'));
  });
  it('resolves absolute symlinks against the root, not the host', () => {
    expect(resolveInRoot(root, '/etc-abs/shadow')).toBe(path.join(root, 'etc/shadow'));
    expect(resolveInRoot(root, '/usr/escape/shadow')).toBe(path.join(root, 'etc/shadow'));
  });
  it('does not follow a final symlink unless asked', () => {
    expect(resolveInRoot(root, '/lib')).toBe(path.join(root, 'lib'));
    expect(resolveInRoot(root, '/lib', { followFinal: true })).toBe(path.join(root, 'usr/lib'));
  });
  it('refuses symlink loops', () => {
    expect(() => resolveInRoot(root, '/loop1/x')).toThrow(/too many levels/);
  });
});

describe('cleanImagePath', () => {
  it('normalizes and clamps at /', () => {
    expect(cleanImagePath('a/./b/../../..//c/')).toBe('/c');
    expect(cleanImagePath('')).toBe('/');
  });
});
