/**
 * `rootc fmt` never changes meaning and is idempotent: every BuildKit positive case and every
 * real-world Rootfile, formatted, parses to the same instructions (keywords, flags, args, raw
 * key/value pairs, heredocs), and formatting the result again changes nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatRootfile } from '../../src/fmt/format.js';
import { type InstructionNode, parseRootfile } from '../../src/syntax/index.js';
import { repoRoot, runRootc } from '../support/rootc.js';

const corpus = resolve(repoRoot, '../shared/testdata/buildkit-parser/positive');
const realworld = join(repoRoot, 'test/compat/realworld');
const files = [
  ...readdirSync(corpus).map((c) => join(corpus, c, 'Dockerfile')),
  ...readdirSync(realworld).map((c) => join(realworld, c, 'Rootfile')),
];

/** What the builder receives from an instruction (the `AS` of FROM compared case-insensitively). */
function meaning(i: InstructionNode): unknown {
  return {
    keyword: i.keyword,
    flags: i.flags.map((f) => [f.name, f.value]),
    json: i.json,
    args: i.args.map((a, n) => (i.keyword === 'FROM' && /^as$/i.test(a.value) && n > 0 ? 'AS' : a.value)),
    pairs: i.pairs?.map((p) => [p.key.raw, p.value?.raw, p.legacy]),
    heredocs: i.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp]),
    from: i.from && [i.from.kind, i.from.source.value, i.from.stageName?.value],
    inner: i.inner && meaning(i.inner),
  };
}

describe('rootc fmt', () => {
  test.each(files.map((f) => [f.slice(resolve(repoRoot, '..').length + 1), f]))('%s', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const before = parseRootfile(text, 'a');
    const once = formatRootfile(text, 'a');
    expect(once.output).toBeDefined();
    const after = parseRootfile(once.output!, 'b');
    expect(after.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(after.ast.escape).toBe(before.ast.escape);
    expect(after.ast.directives.map((d) => [d.name, d.value])).toEqual(
      before.ast.directives.map((d) => [d.name, d.value]),
    );
    expect(after.ast.instructions.map(meaning)).toEqual(before.ast.instructions.map(meaning));
    expect(formatRootfile(once.output!, 'c').output).toBe(once.output);
  });

  test('--check lists unformatted files and exits 1; fmt rewrites in place; then --check passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootc-fmt-'));
    const file = join(dir, 'Rootfile');
    writeFileSync(file, 'from   alpine as base\nrun  echo hi\ncmd [ "sh" ,"-c"]\n');
    const check = await runRootc(['fmt', '--check', file]);
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toContain(file);
    expect(readFileSync(file, 'utf8')).toContain('from   alpine');
    const fmt = await runRootc(['fmt', file]);
    expect(fmt.exitCode).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('FROM alpine AS base\nRUN echo hi\nCMD ["sh", "-c"]\n');
    expect((await runRootc(['fmt', '--check', file])).exitCode).toBe(0);
  });

  test('a file with syntax errors is left alone, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootc-fmt-'));
    const file = join(dir, 'Rootfile');
    writeFileSync(file, 'FROM alpine\nCOPPY a b\n');
    const r = await runRootc(['fmt', file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('did you mean COPY?');
    expect(readFileSync(file, 'utf8')).toBe('FROM alpine\nCOPPY a b\n');
  });
});
