/**
 * Golden tests: each folder holds a `Rootfile` (plus any INCLUDEd fragments and an optional
 * `args.json` with `buildArgs` and `target`), and the expected `ir.json` (when it compiles) and
 * `diagnostics.txt` (when there are any: rendered as `rootc check` prints them, paths relative to the
 * folder). `npm run test:update` (ROOTC_UPDATE_GOLDEN=1) rewrites the expected files.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderDiagnostics } from '../../src/diagnostics/render.js';
import { compileRootfile } from '../../src/lower/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const stdlibDir = path.resolve(here, '../../stdlib');
const update = process.env.ROOTC_UPDATE_GOLDEN === '1';
const stdlibNames = readdirSync(stdlibDir)
  .filter((f) => f.endsWith('.rootfile'))
  .map((f) => f.slice(0, -'.rootfile'.length))
  .sort();

const cases = readdirSync(here)
  .filter((d) => statSync(path.join(here, d)).isDirectory() && existsSync(path.join(here, d, 'Rootfile')))
  .sort();

interface CaseArgs {
  buildArgs?: Record<string, string>;
  target?: string;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Compile one case folder as `rootc check` / `rootc ir` would, from inside the folder. */
function runCase(dir: string): { ir: string | undefined; diagnostics: string | undefined } {
  const text = readFileSync(path.join(dir, 'Rootfile'), 'utf8');
  const argsFile = path.join(dir, 'args.json');
  const args: CaseArgs = existsSync(argsFile) ? JSON.parse(readFileSync(argsFile, 'utf8')) : {};
  const result = compileRootfile('Rootfile', text, {
    buildArgs: args.buildArgs ?? {},
    ...(args.target !== undefined ? { target: args.target } : {}),
    readFile: (p) => readOrUndefined(path.resolve(dir, p)),
    stdlibDir,
    stdlibNames,
    platform: { os: 'linux', architecture: 'amd64' },
  });
  const source = (f: string) => (f === 'Rootfile' ? text : result.sources.get(f));
  const rendered = result.diagnostics.length > 0 ? `${renderDiagnostics(result.diagnostics, { source })}\n` : undefined;
  return { ir: result.ir ? `${JSON.stringify(result.ir, null, 2)}\n` : undefined, diagnostics: rendered };
}

describe('golden', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });
  it.each(cases)('%s', (name) => {
    const dir = path.join(here, name);
    const actual = runCase(dir);
    for (const [file, content] of [
      ['ir.json', actual.ir],
      ['diagnostics.txt', actual.diagnostics],
    ] as const) {
      const expectedFile = path.join(dir, file);
      if (update) {
        if (content === undefined) rmSync(expectedFile, { force: true });
        else writeFileSync(expectedFile, content);
        continue;
      }
      const expected = readOrUndefined(expectedFile);
      expect(content, `${name}/${file}`).toBe(expected);
    }
  });
});
