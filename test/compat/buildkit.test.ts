/**
 * BuildKit's own parser test files (frontend/dockerfile/parser/testfiles{,-negative}): every positive
 * case parses to the same instructions, flags and arguments as BuildKit's dump, through the CLI
 * (`rootc parse --json`) and through parseRootfile (raw ENV/LABEL/ARG values); every negative case is
 * rejected with a diagnostic.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { InstructionJson, RootfileJson } from '../../src/syntax/dump.js';
import { type InstructionNode, parseRootfile, unquote } from '../../src/syntax/index.js';
import { repoRoot, runRootc } from '../support/rootc.js';
import { type DumpNode, parseResult } from './buildkit-result.js';

const corpus = resolve(repoRoot, '../shared/testdata/buildkit-parser');
const positive = readdirSync(join(corpus, 'positive')).sort();
const negative = readdirSync(join(corpus, 'negative')).sort();
const keyValue = new Set(['env', 'label']);

/** BuildKit's dump of one instruction, computed from our AST (raw values, as BuildKit dumps them). */
function dumpOf(i: InstructionNode): DumpNode {
  const keyword = i.keyword.toLowerCase();
  const flags = i.flags.map((f) => `--${f.name}${f.value === undefined ? '' : `=${f.value}`}`);
  let args: (string | DumpNode)[];
  if (i.inner) args = [dumpOf(i.inner)];
  else if (keyValue.has(keyword))
    args = (i.pairs ?? []).flatMap((p) => [p.key.raw, p.value?.raw ?? '', p.legacy ? '' : '=']);
  else if (keyword === 'arg')
    args = (i.pairs ?? []).map((p) => (p.value ? `${p.key.raw}=${p.value.raw}` : p.key.raw));
  else args = i.args.map((a) => a.value);
  return { keyword, flags, args };
}

/** What `rootc parse --json` must print for one BuildKit dump node: ENV/LABEL/ARG values unquoted. */
function expectedJson(
  n: DumpNode,
  esc: string,
): Pick<InstructionJson, 'keyword' | 'flags' | 'args'> & {
  inner?: unknown;
} {
  const u = (s: string) => unquote(s, esc).value;
  const keyword = n.keyword.toUpperCase();
  const strings = n.args.filter((a): a is string => typeof a === 'string');
  let args: string[] = strings;
  if (keyValue.has(n.keyword)) {
    args = [];
    for (let k = 0; k < strings.length; k += 3) args.push(u(strings[k]!), u(strings[k + 1]!));
  } else if (n.keyword === 'arg') {
    args = strings.flatMap((w) => {
      const eq = w.indexOf('=');
      return eq < 0 ? [u(w), ''] : [u(w.slice(0, eq)), u(w.slice(eq + 1))];
    });
  }
  const child = n.args.find((a): a is DumpNode => typeof a !== 'string');
  return child
    ? { keyword, flags: n.flags, args: [], inner: expectedJson(child, esc) }
    : { keyword, flags: n.flags, args };
}

function jsonShape(i: InstructionJson): unknown {
  return i.inner
    ? { keyword: i.keyword, flags: i.flags, args: i.args, inner: jsonShape(i.inner) }
    : { keyword: i.keyword, flags: i.flags, args: i.args };
}

describe('BuildKit parser corpus: positive cases', () => {
  const cli = new Map<string, { exitCode: number; stdout: string; stderr: string }>();
  beforeAll(async () => {
    // Every case through the built CLI once, a few at a time.
    const queue = [...positive];
    const worker = async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        const r = await runRootc(['parse', '--json', join(corpus, 'positive', c, 'Dockerfile')]);
        cli.set(c, { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }, 120_000);

  test('the corpus is there', () => {
    expect(positive.length).toBeGreaterThanOrEqual(30);
  });

  test.each(positive)('%s', (c) => {
    const dir = join(corpus, 'positive', c);
    const text = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    const expected = parseResult(readFileSync(join(dir, 'result'), 'utf8'));

    // The library: raw values exactly as BuildKit's parser keeps them.
    const { ast, diagnostics } = parseRootfile(text, 'Dockerfile');
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(ast.instructions.map(dumpOf)).toEqual(expected);

    // The CLI: exit 0, and args as the builder receives them.
    const r = cli.get(c)!;
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.exitCode, r.stderr).toBe(0);
    const tree = JSON.parse(r.stdout) as RootfileJson;
    expect(tree.instructions.map(jsonShape)).toEqual(expected.map((n) => expectedJson(n, ast.escape)));
  });
});

describe('BuildKit parser corpus: negative cases', () => {
  test.each(negative)('%s is rejected', async (c) => {
    const file = join(corpus, 'negative', c, 'Dockerfile');
    const r = await runRootc(['parse', '--json', file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/:\d+:\d+: error: /);
    const { diagnostics } = parseRootfile(readFileSync(file, 'utf8'), file);
    expect(diagnostics.some((d) => d.severity === 'error')).toBe(true);
  });
});
