/**
 * The parser's fast path: the structure Chevrotain finds (`lexer.ts` + `parser.ts`), found by hand
 * for the shapes nearly every line has, without Chevrotain (which then is not even built):
 *
 * - `KEYWORD [--flag…] [rest]` for every instruction but FROM and ONBUILD: the keyword is letters
 *   only and followed by a blank or the end of the line, the flags are lexed with the lexer's own
 *   pattern, and the rest of the line is the lexer's `Rest` token;
 * - `FROM [--flag…] [image [AS name]]` and `FROM [--flag…] kind source [--flag…] [AS name]`, the words
 *   lexed with the lexer's own word and flag patterns.
 *
 * Anything else (ONBUILD, an unknown or odd keyword, `--`, FROM's extra words) makes
 * the whole file take the Chevrotain path, so both paths always give the same tree: the tests parse
 * every corpus and fuzz input both ways and compare.
 */
import type { EscapeChar } from './ast.js';
import { type Family, familyOf, flagPattern, wordPattern } from './keywords.js';
import { fromKinds, type ParsedFrom, type ParsedInstruction, type Tok } from './parser.js';

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
  // isLetter inlined: setting bit 5 maps A-Z onto a-z and nothing else onto a-z.
  for (let c = text.charCodeAt(p) | 0x20; p < n && c >= 0x61 && c <= 0x7a; c = text.charCodeAt(p) | 0x20) p++;
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

/**
 * FROM's words after its flags, when they are `image`, `image AS name`, or a source kind and its source
 * with trailing flags and an optional `AS name` (`FROM tarball base.tar --sha256=… AS base`): the shapes
 * Chevrotain's FROM rule gives without extra words. A word starting with `--` is lexed as the lexer's
 * Flag token, as the Chevrotain path lexes it; `--` alone (DashDash) takes the Chevrotain path.
 */
function fromWords(text: string, p: number, base: number, esc: EscapeChar): ParsedFrom | undefined {
  const re = wordRes[esc];
  const words: { tok: Tok; flag: boolean }[] = [];
  const n = text.length;
  for (;;) {
    while (p < n && isBlank(text.charCodeAt(p))) p++;
    if (p >= n) break;
    if (words.length === 8) return undefined;
    const flag = text.startsWith('--', p);
    const pattern = flag ? flagRe : re;
    pattern.lastIndex = p;
    const image = pattern.exec(text)![0];
    if (image === '--') return undefined;
    words.push({ tok: { image, startOffset: base + p }, flag });
    p += image.length;
  }
  const isAs = (w: { tok: Tok; flag: boolean } | undefined) =>
    w !== undefined && !w.flag && w.tok.image.length === 2 && /^as$/i.test(w.tok.image);
  const plain = (w: { tok: Tok; flag: boolean } | undefined) => w !== undefined && !w.flag && !isAs(w);
  if (words.length === 0) return { trailingFlags: [], extra: [] };
  const [a, b, c] = words;
  if (!plain(a)) return undefined;
  if (plain(b) && fromKinds.has(a!.tok.image.toLowerCase())) {
    // Chevrotain's kindAhead: a kind word, then a source word that is neither a flag nor AS.
    let i = 2;
    const trailingFlags: Tok[] = [];
    while (i < words.length && words[i]!.flag) trailingFlags.push(words[i++]!.tok);
    const from: ParsedFrom = { trailingFlags, extra: [], kind: a!.tok, source: b!.tok };
    if (i === words.length) return from;
    if (i + 2 === words.length && isAs(words[i]) && plain(words[i + 1]))
      return { ...from, as: words[i]!.tok, name: words[i + 1]!.tok };
    return undefined;
  }
  if (words.length === 1) return { trailingFlags: [], extra: [], image: a!.tok };
  if (words.length === 3 && isAs(b) && plain(c))
    return { trailingFlags: [], extra: [], image: a!.tok, as: b!.tok, name: c!.tok };
  return undefined;
}
