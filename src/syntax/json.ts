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
