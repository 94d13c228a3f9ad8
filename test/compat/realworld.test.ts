/**
 * Real-world-style Rootfiles (modelled on public images: heredocs, escapes incl. the backtick
 * escape, multi-stage, JSON oddities, ONBUILD, HEALTHCHECK, long RUN chains with comments inside
 * continuations, CRLF, rootc's extensions) against golden `expected.json` files: the tree
 * `rootc parse --json` prints, and the diagnostics. `ROOTC_UPDATE_GOLDEN=1` rewrites them.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { astToJson } from '../../src/syntax/dump.js';
import { parseRootfile } from '../../src/syntax/index.js';
import { runRootc } from '../support/rootc.js';

const here = join(dirname(fileURLToPath(import.meta.url)), 'realworld');
const cases = readdirSync(here).filter((d) => existsSync(join(here, d, 'Rootfile')));
const update = process.env.ROOTC_UPDATE_GOLDEN === '1';

function expectedFor(dir: string): unknown {
  const text = readFileSync(join(dir, 'Rootfile'), 'utf8');
  const { ast, diagnostics } = parseRootfile(text, 'Rootfile');
  return {
    ...astToJson(ast),
    diagnostics: diagnostics.map(
      (d) =>
        `${d.location?.range.start.line}:${d.location?.range.start.column}: ${d.severity}: ${d.message} [${d.code}]`,
    ),
  };
}

describe('real-world Rootfiles', () => {
  test('there are at least 10', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  test.each(cases)('%s', (c) => {
    const dir = join(here, c);
    const actual = expectedFor(dir);
    const golden = join(dir, 'expected.json');
    if (update || !existsSync(golden)) writeFileSync(golden, `${JSON.stringify(actual, null, 2)}\n`);
    expect(actual).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
  });

  test('the CLI prints the same tree', async () => {
    const c = 'python-heredocs';
    const r = await runRootc(['parse', '--json', join(here, c, 'Rootfile')]);
    expect(r.exitCode).toBe(0);
    const golden = JSON.parse(readFileSync(join(here, c, 'expected.json'), 'utf8'));
    const { diagnostics: _d, ...tree } = golden;
    expect({ ...JSON.parse(r.stdout), file: 'Rootfile' }).toEqual(tree);
  });
});
