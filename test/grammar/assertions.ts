/**
 * Grammar test files (VS Code / Sublime style): source lines, each optionally followed by assertion
 * lines that the tokenizer never sees:
 *
 *   FROM debian AS build
 *   # <- keyword.other.instruction.rootfile          (column 0)
 *   #              ^^ keyword.other.as.rootfile      (the columns under the carets)
 *   #                 ^^^^^ entity.name.type.stage.rootfile -comment
 *
 * Every character under the carets must carry each listed scope, and none starting with a
 * `-`-prefixed one.
 */
import type { Token } from './tokenize.js';

export interface Assertion {
  /** 1-based line in the test file, for messages. */
  fileLine: number;
  /** Index of the source line it checks (assertion lines removed). */
  line: number;
  columns: number[];
  scopes: string[];
  absent: string[];
}

const ASSERTION = /^#\s*(<-|\^+)\s+(\S.*)$/;

export function parseCase(text: string): { lines: string[]; assertions: Assertion[] } {
  const lines: string[] = [];
  const assertions: Assertion[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = ASSERTION.exec(raw);
    if (!m || lines.length === 0) {
      lines.push(raw);
      return;
    }
    const columns: number[] = [];
    if (m[1] === '<-') columns.push(0);
    else for (let c = raw.indexOf('^'); c >= 0 && raw[c] === '^'; c++) columns.push(c);
    const words = m[2]!.trim().split(/\s+/);
    assertions.push({
      fileLine: i + 1,
      line: lines.length - 1,
      columns,
      scopes: words.filter((w) => !w.startsWith('-')),
      absent: words.filter((w) => w.startsWith('-')).map((w) => w.slice(1)),
    });
  });
  return { lines, assertions };
}

/** Failure messages (empty when every assertion holds). */
export function check(file: string, lines: string[], tokens: Token[][], assertions: Assertion[]): string[] {
  const failures: string[] = [];
  for (const a of assertions) {
    for (const col of a.columns) {
      const tok = tokens[a.line]!.find((t) => t.start <= col && col < t.end);
      const where = `${file}:${a.fileLine} (column ${col} of ${JSON.stringify(lines[a.line])})`;
      if (!tok) {
        failures.push(`${where}: no token`);
        continue;
      }
      const missing = a.scopes.filter((s) => !tok.scopes.includes(s));
      const present = a.absent.filter((s) => tok.scopes.some((x) => x === s || x.startsWith(`${s}.`)));
      if (missing.length > 0 || present.length > 0)
        failures.push(
          `${where}: token ${JSON.stringify(tok.text)} has [${tok.scopes.join(' ')}]` +
            (missing.length ? `; missing ${missing.join(' ')}` : '') +
            (present.length ? `; unexpected ${present.join(' ')}` : ''),
        );
    }
  }
  return failures;
}
