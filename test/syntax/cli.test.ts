/** `rootc parse`: output forms and exit codes (0 ok, 1 syntax errors, 2 usage). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runRootc } from '../support/rootc.js';

describe('rootc parse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rootc-parse-'));
  const ok = join(dir, 'ok.Rootfile');
  writeFileSync(ok, 'FROM alpine AS a\nONBUILD RUN make\nRUN <<EOF\necho hi\nEOF\n');
  const bad = join(dir, 'bad.Rootfile');
  writeFileSync(bad, 'FROM alpine\nCOPPY a b\nENV k\n');

  test('--json prints the tree, exit 0', async () => {
    const r = await runRootc(['parse', '--json', ok]);
    expect(r.exitCode).toBe(0);
    const tree = JSON.parse(r.stdout);
    expect(tree.instructions.map((i: { keyword: string; line: number }) => [i.keyword, i.line])).toEqual([
      ['FROM', 1],
      ['ONBUILD', 2],
      ['RUN', 3],
    ]);
    expect(tree.instructions[1].inner).toMatchObject({ keyword: 'RUN', args: ['make'] });
    expect(tree.instructions[2].heredocs).toEqual([
      { name: 'EOF', content: 'echo hi\n', expand: true, chomp: false },
    ]);
  });

  test('the readable dump', async () => {
    const r = await runRootc(['parse', ok]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('(from "alpine" "AS" "a")');
  });

  test('syntax errors: all of them on stderr, compiler style, exit 1', async () => {
    const r = await runRootc(['parse', '--json', bad]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${bad}:2:1: error: unknown instruction "COPPY" (did you mean COPY?)`);
    expect(r.stderr).toContain(`${bad}:3:5: error: ENV must have two arguments`);
    expect(r.stderr).toContain('  2 | COPPY a b');
  });

  test('a missing file is a usage error, exit 2', async () => {
    const r = await runRootc(['parse', join(dir, 'nope')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('no such file');
  });

  test('standard input', async () => {
    const r = await runRootc(['parse', '--json', '-'], { input: 'FROM scratch\n' });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).instructions[0].from).toEqual({ kind: 'scratch', source: 'scratch' });
  });
});
