/**
 * The parser's fast path (src/syntax/fast.ts) must give exactly what the Chevrotain path gives:
 * every corpus file, golden, generated and mutated input is parsed both ways, and wherever the fast
 * path applies the results (tree, ranges, diagnostics) must be deep-equal.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { generateRootfile } from '../../bench/rootfile-gen.js';
import { parseRootfileVia } from '../../src/syntax/index.js';
import { Gen, mutate, prng, randomRootfile } from '../fuzz/generate.js';
import { repoRoot } from '../support/rootc.js';

const corpus = resolve(repoRoot, '../shared/testdata/buildkit-parser');
const files = (dir: string, name: string) =>
  readdirSync(dir)
    .filter((c) => existsSync(join(dir, c, name)))
    .map((c) => readFileSync(join(dir, c, name), 'utf8'));
const seeds = [
  ...files(join(corpus, 'positive'), 'Dockerfile'),
  ...files(join(corpus, 'negative'), 'Dockerfile'),
  ...files(join(repoRoot, 'test/compat/realworld'), 'Rootfile'),
  ...files(join(repoRoot, 'test/golden'), 'Rootfile'),
];

/** Whether the fast path applied; throws when it applied and differs. */
function same(text: string): boolean {
  const fast = parseRootfileVia(text, 'Rootfile', 'fast');
  if (!fast) return false;
  const full = parseRootfileVia(text, 'Rootfile', 'chevrotain');
  expect(fast, JSON.stringify(text)).toEqual(full);
  // toEqual ignores undefined properties; the JSON must match too.
  expect(JSON.stringify(fast), JSON.stringify(text)).toBe(JSON.stringify(full));
  return true;
}

describe('fast path = Chevrotain path', () => {
  test('edge shapes', () => {
    const applies = [
      'RUN a',
      'run a',
      'RUN',
      'RUN   ',
      'RUN\tA b  ',
      'RUN\va',
      'RUN --mount=type=cache,target=/x --network=none make',
      'RUN --x="a b" --y=\'c d\' --z=a\\ b  c',
      'RUN --x',
      'RUN --x --y',
      'RUN a --b',
      'RUN ["a", "b"]',
      'RUN [1]',
      'CMD ["a"',
      'ENV a=b c="d e"',
      'ENV a b c',
      'ENV a',
      'LABEL a="b" \\\n  c=d',
      'ARG a b=c',
      'EXPOSE 80/tcp 443',
      'HEALTHCHECK --interval=5s CMD curl -f x',
      'HEALTHCHECK NONE',
      'MAINTAINER me',
      'INCLUDE go NAME=x',
      'INCLUDE',
      'ANNOTATION a=b',
      'COPY --from=a --chown=1:1 a b /c/',
      'COPY <<EOF /x\nhello\nEOF',
      'RUN <<A <<-B\na\nA\n\tb\n\tB',
      'FROM',
      'FROM x',
      'FROM scratch',
      'FROM oci',
      'FROM x AS y',
      'from x as y',
      'FROM x aS Y',
      'FROM --platform=linux/arm64 x AS y',
      'FROM "a b" AS c',
      'FROM a\\ b',
      '# escape=`\nFROM a` b AS c\nRUN x `\n  y',
      '# escape=`\nRUN a\\b',
      'RUN a\rb',
      'FROM x\r\nRUN y\r\n',
      '\ufeffRUN a',
      'RUN a \\\n\n  b',
      '  RUN a\n\tRUN b',
      '# c\nRUN a # not a comment\n# d\nRUN b',
      'WORKDIR /a b ',
      'USER',
      'STOPSIGNAL SIGKILL',
      'SHELL ["/bin/sh", "-c"]',
      'VOLUME /a /b',
      'REMOVE /a',
      'FROM tarball a.tgz',
      'FROM TARBALL a.tgz AS base',
      'FROM tarball a.tgz --sha256=abc',
      'FROM --platform=linux/amd64 tarball a.tgz --sha256=abc --x="y z" as b',
      'FROM debootstrap bookworm --variant=minbase --include=a,b',
      'FROM oci ./layout:tag',
      'FROM tarball AS x',
      'FROM stage3 "a b"',
    ];
    for (const t of applies) expect(same(t), JSON.stringify(t)).toBe(true);
    const bails = [
      'ONBUILD RUN a',
      'FOO a',
      'RUN2 a',
      'RUN"a"',
      'RUN -- a',
      '--x',
      'FROM a b',
      'FROM x AS',
      'FROM AS',
      'FROM x AS y z',
      'FROM x AS as',
      'FROM tarball a.tgz extra',
      'FROM tarball a.tgz AS',
      'FROM tarball a.tgz AS b c',
      'FROM tarball a.tgz -- x',
      'FROM tarball --x a.tgz',
      'FROM tarball as as',
      'FROM x --y',
      'FROM -- x',
      'FROM x AS --y',
      'RUN\u00a0a',
    ];
    for (const t of bails) {
      expect(parseRootfileVia(t, 'Rootfile', 'fast'), JSON.stringify(t)).toBeUndefined();
      expect(parseRootfileVia(t, 'Rootfile', 'chevrotain'), JSON.stringify(t)).toBeDefined();
    }
  });

  test('the benchmark file takes the fast path', () => {
    expect(same(generateRootfile(500))).toBe(true);
  });

  test('BuildKit corpus, real-world files, goldens', () => {
    const applied = seeds.filter((s) => same(s)).length;
    // Most real files have only the common shapes.
    expect(applied).toBeGreaterThan(seeds.length / 2);
  });

  test('generated and mutated inputs', () => {
    const g = new Gen(prng(0xfa57));
    let applied = 0;
    for (let i = 0; i < 3000; i++) {
      const text = i % 2 === 0 ? randomRootfile(g) : mutate(g, seeds[i % seeds.length]!);
      if (same(text)) applied++;
    }
    expect(applied).toBeGreaterThan(300);
  }, 60_000);
});
