// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Rootfile words, not templates
/**
 * Fuzz/property test for parse + lower: ≥10,000 generated and mutated Rootfiles (seeded, so a failure
 * is reproducible). Compiling never throws, never reports an internal error, every diagnostic has a
 * valid range in a file it names, and a successful compile gives an IR whose steps all have a
 * canonical form.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { SourceText } from '../../src/diagnostics/source.js';
import { canonicalStepJson, compileRootfile } from '../../src/lower/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const stdlibDir = path.resolve(here, '../../stdlib');
const TOTAL = 10_000;

/** mulberry32: small, seeded, good enough to pick things. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seeds(): string[] {
  const out: string[] = [];
  const golden = path.resolve(here, '../golden');
  for (const d of readdirSync(golden)) {
    const f = path.join(golden, d, 'Rootfile');
    if (existsSync(f)) out.push(readFileSync(f, 'utf8'));
  }
  const bk = '/work/shared/testdata/buildkit-parser/positive';
  if (existsSync(bk)) {
    for (const d of readdirSync(bk)) {
      const f = path.join(bk, d, 'Dockerfile');
      if (existsSync(f)) out.push(readFileSync(f, 'utf8'));
    }
  }
  for (const f of readdirSync(stdlibDir))
    out.push(`FROM scratch\n${readFileSync(path.join(stdlibDir, f), 'utf8')}`);
  return out;
}

const KEYWORDS = [
  'FROM',
  'RUN',
  'COPY',
  'ADD',
  'CMD',
  'ENTRYPOINT',
  'ENV',
  'ARG',
  'WORKDIR',
  'USER',
  'LABEL',
  'EXPOSE',
  'VOLUME',
  'STOPSIGNAL',
  'SHELL',
  'HEALTHCHECK',
  'ONBUILD',
  'MAINTAINER',
  'REMOVE',
  'INCLUDE',
  'ANNOTATION',
];
const WORDS = [
  'scratch',
  'debian:bookworm',
  'AS',
  'build',
  'tarball',
  'stage3',
  'debootstrap',
  'oci',
  'aci',
  'docker-archive',
  '--from=build',
  '--from=0',
  '--from=host',
  '--chmod=0755',
  '--chmod=x',
  '--chown=a:b',
  '--link',
  '--network=none',
  '--mount=type=cache',
  '--platform=$BUILDPLATFORM',
  '--sha256=abc',
  '--interval=5s',
  '--retries=2',
  '--exclude=*.md',
  '$A',
  '${A}',
  '${A:-x}',
  '${A:+y}',
  '${A:?req}',
  '${A#p}',
  '${A//a/b}',
  '${',
  '}',
  '"',
  "'",
  '\\',
  '`',
  '=',
  'A=1',
  'B="x y"',
  '[',
  ']',
  '["a", "b"]',
  '[]',
  '<<EOF',
  '<<-EOF',
  '<<"EOF"',
  'EOF',
  '80/tcp',
  '99999',
  'SIGTERM',
  'CMD',
  'NONE',
  '/app',
  '.',
  '..',
  './frag.rootfile',
  'users',
  'NAME=app',
  'strip-docs',
  '/',
  '*',
  '#',
  '\t',
  'ümlaut',
  '😀',
];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function generated(r: () => number): string {
  const lines: string[] = [];
  const n = 1 + Math.floor(r() * 12);
  if (r() < 0.2) lines.push(pick(r, ['# escape=`', '# escape=\\', '# syntax=docker/dockerfile:1']));
  if (r() < 0.8)
    lines.push(`FROM ${pick(r, WORDS)}${r() < 0.5 ? ` AS ${pick(r, ['build', 'b', 'x'])}` : ''}`);
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: Math.floor(r() * 5) }, () => pick(r, WORDS));
    let line = `${r() < 0.9 ? pick(r, KEYWORDS) : pick(r, WORDS)} ${words.join(r() < 0.9 ? ' ' : '')}`;
    if (r() < 0.1) line += ' \\';
    lines.push(line);
    if (line.includes('<<') && r() < 0.7) lines.push('body $A', 'EOF');
  }
  return lines.join(r() < 0.95 ? '\n' : '\r\n') + (r() < 0.8 ? '\n' : '');
}

function mutated(r: () => number, seed: string): string {
  let text = seed;
  const edits = 1 + Math.floor(r() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (text.length + 1));
    switch (Math.floor(r() * 6)) {
      case 0: // delete a span
        text = text.slice(0, at) + text.slice(at + Math.floor(r() * 20));
        break;
      case 1: // insert a word
        text = `${text.slice(0, at)}${pick(r, WORDS)}${text.slice(at)}`;
        break;
      case 2: // insert a special character
        text = `${text.slice(0, at)}${pick(r, ['\\', '\n', '"', "'", '$', '{', '}', '[', '`', '\r', '\t', '#', '='])}${text.slice(at)}`;
        break;
      case 3: {
        // duplicate or drop a line
        const lines = text.split('\n');
        const i = Math.floor(r() * lines.length);
        if (r() < 0.5) lines.splice(i, 0, lines[i] ?? '');
        else lines.splice(i, 1);
        text = lines.join('\n');
        break;
      }
      case 4: // swap in a keyword
        text = `${text.slice(0, at)}\n${pick(r, KEYWORDS)} ${text.slice(at)}`;
        break;
      default: // truncate
        text = text.slice(0, at);
    }
  }
  return text;
}

function checkRange(d: Diagnostic, texts: Map<string, string>): string | undefined {
  if (!d.location) return undefined;
  const text = texts.get(d.location.file);
  if (text === undefined) return `unknown file ${d.location.file}`;
  const src = new SourceText(d.location.file, text);
  const { start, end } = d.location.range;
  if (!(start.offset >= 0 && start.offset <= end.offset && end.offset <= text.length)) {
    return `bad offsets ${start.offset}..${end.offset} (length ${text.length})`;
  }
  for (const p of [start, end]) {
    const expected = src.position(p.offset);
    if (expected.line !== p.line || expected.column !== p.column) {
      return `position ${p.line}:${p.column} does not match offset ${p.offset} (${expected.line}:${expected.column})`;
    }
  }
  for (const note of d.notes ?? []) {
    if (note.location && !texts.has(note.location.file)) return `note in unknown file ${note.location.file}`;
  }
  return undefined;
}

describe('lowering fuzz', () => {
  it(`never throws and reports valid ranges on ${TOTAL} inputs`, () => {
    const r = rng(20261127);
    const corpus = seeds();
    const fragments: Record<string, string> = {
      'frag.rootfile': 'ARG NAME=x\nRUN echo $NAME\nINCLUDE ./frag.rootfile\n',
    };
    const stdlib = Object.fromEntries(
      readdirSync(stdlibDir).map((f) => [
        path.join(stdlibDir, f),
        readFileSync(path.join(stdlibDir, f), 'utf8'),
      ]),
    );
    let compiled = 0;
    let withIr = 0;
    const problems: string[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const text = i % 3 === 0 ? generated(r) : mutated(r, pick(r, corpus));
      const buildArgs = r() < 0.3 ? { A: 'v', NAME: 'n', TAG: 'x' } : {};
      const target = r() < 0.1 ? pick(r, ['build', 'b', 'nope']) : undefined;
      let result: ReturnType<typeof compileRootfile>;
      try {
        result = compileRootfile('Rootfile', text, {
          buildArgs,
          ...(target ? { target } : {}),
          readFile: (p) => stdlib[p] ?? fragments[p],
          stdlibDir,
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        });
      } catch (e) {
        problems.push(`#${i} threw ${(e as Error).stack}\n--- input ---\n${text}`);
        continue;
      }
      compiled++;
      const texts = new Map([['Rootfile', text], ...result.sources]);
      for (const d of result.diagnostics) {
        if (d.code.endsWith('internal-error')) problems.push(`#${i} internal error: ${d.message}\n${text}`);
        const bad = checkRange(d, texts);
        if (bad) problems.push(`#${i} ${d.code} "${d.message}": ${bad}\n--- input ---\n${text}`);
      }
      const failed = result.diagnostics.some((d) => d.severity === 'error');
      if (failed === (result.ir !== undefined))
        problems.push(`#${i} errors=${failed} but ir=${result.ir !== undefined}\n${text}`);
      if (result.ir) {
        withIr++;
        JSON.stringify(result.ir);
        for (const st of result.ir.stages) for (const step of st.steps) canonicalStepJson(step);
      }
      if (problems.length > 5) break;
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(compiled).toBe(TOTAL);
    // The generator must reach past the parser often enough to exercise lowering.
    expect(withIr).toBeGreaterThan(TOTAL / 10);
  }, 300_000); // 10,000 compiles: generous for a loaded CI machine
});
