/**
 * Exec form: BuildKit's `parseJSON` (Go's encoding/json into []any, then "strings only"), with the
 * offsets of each string in the text.
 */

import { leadingSpace } from './unicode.js';
import type { Piece } from './words.js';

export type JsonResult =
  | { kind: 'json'; items: Piece[] }
  | { kind: 'not-json' }
  /** Valid JSON array, but not all strings: an error in BuildKit, not a fallback to shell form. */
  | { kind: 'not-strings' };

const loneSurrogates = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function parseJson(rest: string): JsonResult {
  const lead = leadingSpace(rest);
  if (rest.charCodeAt(lead) !== 0x5b /* [ */) return { kind: 'not-json' };
  const simple = simpleStrings(rest, lead);
  if (simple !== undefined) return { kind: 'json', items: simple };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest.slice(lead));
  } catch {
    return { kind: 'not-json' };
  }
  if (!Array.isArray(parsed)) return { kind: 'not-json' };
  if (!parsed.every((x) => typeof x === 'string')) return { kind: 'not-strings' };
  // Find where each string is: the text is valid JSON, so a string literal scan is exact.
  const items: Piece[] = [];
  const re = /"(?:[^"\\]|\\.)*"/gs;
  let i = 0;
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    // Go decodes lone surrogate escapes to U+FFFD.
    const text = (parsed[i] as string).replace(loneSurrogates, '\ufffd');
    items.push({ text, start: m.index, end: m.index + m[0].length });
    i++;
  }
  return { kind: 'json', items };
}

/** JSON's whitespace: space, tab, line feed, carriage return. */
function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * The common exec form, `["a", "b"]` with strings free of escapes, control characters and
 * surrogates, read in one pass: each value is the text between its quotes, exactly what JSON.parse
 * gives for such a string. Undefined for anything else (which then goes through JSON.parse).
 */
function simpleStrings(rest: string, lead: number): Piece[] | undefined {
  const n = rest.length;
  const items: Piece[] = [];
  let p = lead + 1;
  while (p < n && isJsonSpace(rest.charCodeAt(p))) p++;
  if (rest.charCodeAt(p) === 0x5d /* ] */) {
    p++;
  } else {
    for (;;) {
      if (rest.charCodeAt(p) !== 0x22 /* " */) return undefined;
      const start = p;
      p++;
      for (;;) {
        if (p >= n) return undefined;
        const c = rest.charCodeAt(p);
        if (c === 0x22) break;
        if (c === 0x5c /* \ */ || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) return undefined;
        p++;
      }
      p++;
      items.push({ text: rest.slice(start + 1, p - 1), start, end: p });
      while (p < n && isJsonSpace(rest.charCodeAt(p))) p++;
      const c = rest.charCodeAt(p);
      p++;
      if (c === 0x5d) break;
      if (c !== 0x2c /* , */) return undefined;
      while (p < n && isJsonSpace(rest.charCodeAt(p))) p++;
    }
  }
  while (p < n && isJsonSpace(rest.charCodeAt(p))) p++;
  return p === n ? items : undefined;
}
