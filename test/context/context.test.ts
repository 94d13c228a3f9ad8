import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildContext } from '../../src/context/context.js';

function makeContext(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rootc-ctx-'));
  mkdirSync(path.join(dir, 'src/sub'), { recursive: true });
  writeFileSync(path.join(dir, 'src/a.txt'), 'a');
  writeFileSync(path.join(dir, 'src/b.txt'), 'b');
  writeFileSync(path.join(dir, 'src/sub/c.txt'), 'c');
  writeFileSync(path.join(dir, 'secret.key'), 'k');
  symlinkSync('/etc', path.join(dir, 'etc-link'));
  writeFileSync(path.join(dir, '.dockerignore'), '*.key\n');
  return dir;
}

describe('BuildContext', () => {
  it('expands wildcards per component and honours the ignore file', () => {
    const ctx = BuildContext.open(makeContext());
    expect(ctx.expand('src/*.txt')).toEqual(['src/a.txt', 'src/b.txt']);
    expect(ctx.expand('*/sub')).toEqual(['src/sub']);
    expect(() => ctx.expand('secret.key')).toThrow(/excluded/);
    expect(() => ctx.expand('*.key')).toThrow(/matches nothing/);
  });
  it('refuses sources outside the context and keeps symlinks inside it', () => {
    const ctx = BuildContext.open(makeContext());
    expect(() => ctx.expand('../x')).toThrow(/outside the build context/);
    // etc-link → /etc resolves to <ctx>/etc, which does not exist: never the host's /etc.
    expect(() => ctx.expand('etc-link/passwd')).toThrow(/not found/);
  });
  it('digests content, not mtimes', async () => {
    const dir = makeContext();
    const ctx = BuildContext.open(dir);
    const d1 = await ctx.digest(['src']);
    writeFileSync(path.join(dir, 'src/a.txt'), 'a'); // same content, new mtime
    expect(await new BuildContext(dir).digest(['src'])).toBe(d1);
    writeFileSync(path.join(dir, 'src/sub/c.txt'), 'changed');
    expect(await new BuildContext(dir).digest(['src'])).not.toBe(d1);
  });
  it('walks in byte order and skips ignored files', () => {
    const ctx = BuildContext.open(makeContext());
    expect([...ctx.walk('.')].map((e) => e.rel)).toEqual([
      '.',
      '.dockerignore',
      'etc-link',
      'src',
      'src/a.txt',
      'src/b.txt',
      'src/sub',
      'src/sub/c.txt',
    ]);
  });
});
