import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/index.js';
import { check, parseCase } from './assertions.js';
import { GRAMMAR_FILE, tokenizeLines } from './tokenize.js';

const casesDir = path.join(repoRoot, 'test/grammar/cases');
const cases = readdirSync(casesDir)
  .filter((f) => f.endsWith('.rootfile'))
  .sort();

describe('TextMate grammar (vscode-textmate + oniguruma)', () => {
  for (const name of cases) {
    it(name, async () => {
      const { lines, assertions } = parseCase(readFileSync(path.join(casesDir, name), 'utf8'));
      const failures = check(name, lines, await tokenizeLines(lines), assertions);
      expect(failures, failures.join('\n')).toEqual([]);
    });
  }

  it('has at least 80 assertions, heredocs and continuations included', () => {
    const all = cases.map((n) => readFileSync(path.join(casesDir, n), 'utf8'));
    const count = all.reduce((n, t) => n + parseCase(t).assertions.length, 0);
    expect(count).toBeGreaterThanOrEqual(80);
    expect(all.join('\n')).toMatch(/<<-?['"]?\w+/);
    expect(all.join('\n')).toMatch(/\\\n/);
  });

  it('rootfile.tmLanguage.json is what grammar/build.mjs generates', async () => {
    const { json } = (await import(path.join(repoRoot, 'grammar/build.mjs'))) as { json: string };
    expect(readFileSync(GRAMMAR_FILE, 'utf8'), 'run `npm run grammar` and commit the JSON').toBe(json);
  });
});
