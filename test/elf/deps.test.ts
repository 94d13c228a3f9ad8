import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DepsError, resolveDeps } from '../../src/elf/deps.js';
import { readElf } from '../../src/elf/elf.js';

/** What the host's ldd lists (resolved paths), the reference the closure must cover. */
function lddPaths(program: string): string[] {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  const paths: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (m) paths.push(realpathSync(m[1]!));
  }
  return paths;
}

const programs = ['/bin/bash', '/bin/ls', '/usr/bin/curl', '/usr/bin/python3', '/usr/bin/ssh'].filter((p) =>
  existsSync(p),
);

describe('resolveDeps on the host', () => {
  it.each(programs)('covers everything ldd lists for %s', (program) => {
    const result = resolveDeps('/', [program]);
    const files = new Set(result.entries.filter((e) => e.kind === 'file').map((e) => realpathSync(e.path)));
    for (const lib of lddPaths(program)) expect(files, `${program} needs ${lib}`).toContain(lib);
  });
  it('keeps symlink chains as symlinks', () => {
    const result = resolveDeps('/', ['/bin/bash']);
    // Debian 12: /bin → usr/bin and /lib64 → usr/lib64 (merged /usr), ld-linux is a symlink.
    const links = result.entries.filter((e) => e.kind === 'symlink');
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) if (l.kind === 'symlink') expect(l.target.length).toBeGreaterThan(0);
  });
});

describe('resolveDeps diagnostics', () => {
  it('names the chain when a library is missing', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'rootc-deps-'));
    const bash = realpathSync('/bin/bash');
    mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
    copyFileSync(bash, path.join(root, 'usr/bin/bash'));
    const interp = readElf(bash).interpreter!;
    mkdirSync(path.join(root, path.dirname(interp)), { recursive: true });
    copyFileSync(realpathSync(interp), path.join(root, interp));
    expect(() => resolveDeps(root, ['/usr/bin/bash'])).toThrow(/\/usr\/bin\/bash → lib\S+: not found/);
  });
  it('refuses a file that is not ELF', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'rootc-deps-'));
    writeFileSync(path.join(root, 'script'), '#!/bin/sh\necho hi\n');
    expect(() => resolveDeps(root, ['/script'])).toThrow(DepsError);
    expect(() => resolveDeps(root, ['/script'])).toThrow(/not an ELF file/);
  });
  it('reports a corrupt ELF header instead of crashing', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'rootc-deps-'));
    const head = Buffer.from(readFileSync(realpathSync('/bin/ls')).subarray(0, 64));
    head.writeUInt32LE(0xfffffff0, 32); // e_phoff far past the end of the file
    writeFileSync(path.join(root, 'broken'), head);
    expect(() => resolveDeps(root, ['/broken'])).toThrow(/broken: corrupt ELF header/);
  });
});
