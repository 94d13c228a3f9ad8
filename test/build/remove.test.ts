import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeFromRootfs } from '../../src/build/remove.js';

function rootfs(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rootc-rm-'));
  mkdirSync(path.join(root, 'usr/share/doc/pkg'), { recursive: true });
  mkdirSync(path.join(root, 'usr/share/man/man1'), { recursive: true });
  mkdirSync(path.join(root, 'usr/share/locale/de'), { recursive: true });
  mkdirSync(path.join(root, 'usr/share/locale/en_US'), { recursive: true });
  writeFileSync(path.join(root, 'usr/share/doc/pkg/README'), 'x');
  mkdirSync(path.join(root, 'app'));
  writeFileSync(path.join(root, 'app/a.log'), 'x');
  writeFileSync(path.join(root, 'app/b.log'), 'x');
  writeFileSync(path.join(root, 'app/keep'), 'x');
  return root;
}

describe('removeFromRootfs', () => {
  it('removes literal paths and globs, relative ones against WORKDIR', () => {
    const root = rootfs();
    const r = removeFromRootfs(root, ['/usr/share/doc', '/usr/share/locale/d*', '*.log'], '/app');
    expect(r.removed).toEqual(['/usr/share/doc', '/usr/share/locale/de', '/app/a.log', '/app/b.log']);
    expect(existsSync(path.join(root, 'usr/share/locale/en_US'))).toBe(true);
    expect(existsSync(path.join(root, 'app/keep'))).toBe(true);
  });
  it('reports patterns that matched nothing', () => {
    expect(removeFromRootfs(rootfs(), ['/nope', '/usr/*/nope*']).unmatched).toEqual([
      '/nope',
      '/usr/*/nope*',
    ]);
  });
  it('removes a symlink itself and never what it points to outside the root', () => {
    const root = rootfs();
    const outside = mkdtempSync(path.join(tmpdir(), 'rootc-rm-outside-'));
    writeFileSync(path.join(outside, 'precious'), 'x');
    symlinkSync(outside, path.join(root, 'link'));
    removeFromRootfs(root, ['/link/precious', '/link']);
    expect(existsSync(path.join(outside, 'precious'))).toBe(true);
    expect(existsSync(path.join(root, 'link'))).toBe(false);
  });
  it('refuses to remove /', () => {
    expect(() => removeFromRootfs(rootfs(), ['/..'])).toThrow(/whole image/);
  });
});
