/**
 * Fuzz: 10,000+ generated and mutated inputs (seeded, so deterministic). parseRootfile never throws
 * and never hits its internal-error guard; every diagnostic and every range in the tree is valid
 * (1 ≤ line ≤ line count, sane columns, start ≤ end). fmt never throws, and what it writes parses
 * without errors and formats to itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { SourceRange } from '../../src/diagnostics/diagnostic.js';
import { SourceText } from '../../src/diagnostics/source.js';
import { formatRootfile } from '../../src/fmt/format.js';
import { type InstructionNode, parseRootfile } from '../../src/syntax/index.js';
import { repoRoot } from '../support/rootc.js';
import { Gen, mutate, prng, randomRootfile } from './generate.js';

const corpusDir = resolve(repoRoot, '../shared/testdata/buildkit-parser/positive');
const realDir = join(repoRoot, 'test/compat/realworld');
const seeds = [
  ...readdirSync(corpusDir).map((c) => readFileSync(join(corpusDir, c, 'Dockerfile'), 'utf8')),
  ...readdirSync(realDir).map((c) => readFileSync(join(realDir, c, 'Rootfile'), 'utf8')),
];

function checkRange(src: SourceText, r: SourceRange, what: string): string | undefined {
  for (const p of [r.start, r.end]) {
    if (!(p.line >= 1 && p.line <= src.lineCount)) return `${what}: line ${p.line} of ${src.lineCount}`;
    const len = src.lineText(p.line).length;
    if (!(p.column >= 1 && p.column <= len + 2)) return `${what}: column ${p.column} on a line of ${len}`;
    if (!(p.offset >= 0 && p.offset <= src.text.length)) return `${what}: offset ${p.offset}`;
  }
  if (r.start.offset > r.end.offset) return `${what}: start after end`;
  return undefined;
}

function problems(text: string): string[] {
  const out: string[] = [];
  let result: ReturnType<typeof parseRootfile>;
  try {
    result = parseRootfile(text, 'Rootfile');
  } catch (e) {
    return [`threw: ${(e as Error).message}`];
  }
  const src = new SourceText('Rootfile', text);
  for (const d of result.diagnostics) {
    if (d.code === 'syntax/internal-error') out.push(d.message);
    if (!d.location) out.push(`no location: ${d.message}`);
    else {
      const p = checkRange(src, d.location.range, d.message);
      if (p) out.push(p);
    }
  }
  const visit = (i: InstructionNode) => {
    for (const [what, r] of [
      ['instruction', i.range],
      ['keyword', i.keywordRange],
      ...i.args.map((a) => ['arg', a.range] as const),
      ...i.flags.map((f) => ['flag', f.range] as const),
      ...i.heredocs.map((h) => ['heredoc', h.bodyRange] as const),
    ] as const) {
      const p = checkRange(src, r, `${i.keyword} ${what}`);
      if (p) out.push(p);
    }
    if (i.inner) visit(i.inner);
  };
  result.ast.instructions.forEach(visit);
  return out;
}

function fmtProblems(text: string): string[] {
  try {
    const once = formatRootfile(text, 'a');
    if (once.output === undefined) return [];
    const again = parseRootfile(once.output, 'b');
    const errors = again.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) return [`fmt output has errors: ${errors[0]!.message}\n${once.output}`];
    if (formatRootfile(once.output, 'c').output !== once.output)
      return [`fmt not idempotent:\n${once.output}`];
    return [];
  } catch (e) {
    return [`fmt threw: ${(e as Error).message}`];
  }
}

describe('parser fuzz', () => {
  test('5,000 generated Rootfiles', () => {
    const g = new Gen(prng(0x5eed));
    const bad: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const text = randomRootfile(g);
      const p = problems(text);
      if (i % 4 === 0) p.push(...fmtProblems(text));
      if (p.length > 0 && bad.length < 5) bad.push(`${JSON.stringify(text)}\n  ${p.join('\n  ')}`);
    }
    expect(bad).toEqual([]);
  }, 60_000);

  test('5,000 mutations of the BuildKit corpus and the real-world Rootfiles', () => {
    const g = new Gen(prng(0xbadc0de));
    const bad: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const text = mutate(g, seeds[i % seeds.length]!);
      const p = problems(text);
      if (i % 4 === 0) p.push(...fmtProblems(text));
      if (p.length > 0 && bad.length < 5) bad.push(`${JSON.stringify(text)}\n  ${p.join('\n  ')}`);
    }
    expect(bad).toEqual([]);
  }, 60_000);

  test('pathological inputs', () => {
    const inputs = [
      '',
      '\n\n\n',
      '\\',
      '\\\n\\\n',
      '`',
      '# escape=`\n`',
      'RUN <<EOF',
      'RUN <<',
      'RUN <<""\n\n',
      '\0\0\0',
      'RUN \\\n',
      'FROM a AS AS AS',
      'ONBUILD ONBUILD ONBUILD',
      'ONBUILD',
      '--',
      '--x',
      `RUN ${'"'.repeat(1000)}`,
      `ENV ${'a=b '.repeat(2000)}`,
      `RUN a${' \\\n b'.repeat(2000)}`,
      '\r\r\r',
      'RUN a\rb\rCOPY c',
      '\ufeff',
      '\ud800',
    ];
    for (const t of inputs) expect(problems(t), JSON.stringify(t)).toEqual([]);
  });
});
