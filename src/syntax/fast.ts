/**
 * The parser's fast path: the structure Chevrotain finds (`lexer.ts` + `parser.ts`), found by hand
 * for the shapes nearly every line has, without Chevrotain (which then is not even built):
 *
 * - `KEYWORD [--flag…] [rest]` for every instruction but FROM and ONBUILD: the keyword is letters
 *   only and followed by a blank or the end of the line, the flags are lexed with the lexer's own
 *   pattern, and the rest of the line is the lexer's `Rest` token;
 * - `FROM [--flag…] [image [AS name]]`, the words lexed with the lexer's own word pattern.
 *
 * Anything else (ONBUILD, an unknown or odd keyword, `--`, FROM's source kinds or extra words) makes
 * the whole file take the Chevrotain path, so both paths always give the same tree: the tests parse
 * every corpus and fuzz input both ways and compare.
 */
import type { EscapeChar } from './ast.js';
import { type Family, familyOf, flagPattern, wordPattern } from './keywords.js';
import type { ParsedFrom, ParsedInstruction, Tok } from './parser.js';

const families = new Map<string, Family>(Object.entries(familyOf));
const flagRe = new RegExp(flagPattern.source, 'y');
const wordRes: Record<EscapeChar, RegExp> = {
  '\\': new RegExp(wordPattern('\\').source, 'y'),
  '`': new RegExp(wordPattern('`').source, 'y'),
};

/** The lexer's `Whitespace`: `[ \t\v\f\r]`. */
function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * The parsed instruction of one logical line (at `base` in the lexed text, as the Chevrotain path
 * numbers offsets): null for an empty line, undefined when the line needs the Chevrotain path.
 */
export function parseFastLine(
  text: string,
  base: number,
  esc: EscapeChar,
): ParsedInstruction | null | undefined {
  const n = text.length;
  if (n === 0) return null;
  let p = 0;
  while (p < n && isLetter(text.charCodeAt(p))) p++;
  // The lexer's keyword check: a word of at most 11 letters.
  if (p === 0 || p > 11 || (p < n && !isBlank(text.charCodeAt(p)))) return undefined;
  const image = text.slice(0, p);
  const family = families.get(image.toUpperCase());
  if (family === undefined || family === 'onbuild') return undefined;
  const keyword: Tok = { image, startOffset: base };
  const flags: Tok[] = [];
  for (;;) {
    while (p < n && isBlank(text.charCodeAt(p))) p++;
    if (p + 1 >= n || text.charCodeAt(p) !== 0x2d || text.charCodeAt(p + 1) !== 0x2d) break;
    flagRe.lastIndex = p;
    const flag = flagRe.exec(text)![0];
    if (flag === '--') return undefined; // DashDash
    flags.push({ image: flag, startOffset: base + p });
    p += flag.length;
  }
  if (family !== 'from') {
    const rest: Tok[] = p < n ? [{ image: text.slice(p), startOffset: base + p }] : [];
    return { family, keyword, flags, rest };
  }
  const from = fromWords(text, p, base, esc);
  return from ? { family, keyword, flags, rest: [], from } : undefined;
}

/** FROM's words after its flags, when they are `image` or `image AS name` (none a flag). */
function fromWords(text: string, p: number, base: number, esc: EscapeChar): ParsedFrom | undefined {
  const re = wordRes[esc];
  const words: Tok[] = [];
  const n = text.length;
  for (;;) {
    while (p < n && isBlank(text.charCodeAt(p))) p++;
    if (p >= n) break;
    // A word starting with `--` is a flag token, which only Chevrotain's FROM rule places.
    if (words.length === 3 || text.startsWith('--', p)) return undefined;
    re.lastIndex = p;
    const image = re.exec(text)![0];
    words.push({ image, startOffset: base + p });
    p += image.length;
  }
  const isAs = (t: Tok) => t.image.length === 2 && /^as$/i.test(t.image);
  if (words.length === 0) return { trailingFlags: [], extra: [] };
  if (isAs(words[0]!)) return undefined;
  if (words.length === 1) return { trailingFlags: [], extra: [], image: words[0]! };
  if (words.length === 3 && isAs(words[1]!) && !isAs(words[2]!))
    return { trailingFlags: [], extra: [], image: words[0]!, as: words[1]!, name: words[2]! };
  return undefined;
}
