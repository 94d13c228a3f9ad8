/**
 * Ports of BuildKit's word splitters (`frontend/dockerfile/parser/line_parsers.go`,
 * `split_command.go`), each keeping the offsets of what it returns so that args get source ranges.
 * Offsets are relative to the string passed in.
 */
import { isSpace, isTokenSpace } from './unicode.js';

export interface Piece {
  text: string;
  start: number;
  end: number;
}

/**
 * `parseWords`: words separated by (Unicode) spaces; quotes and escapes are kept in the words but
 * group spaces; an escape token at the very end is dropped.
 */
export function parseWords(rest: string, esc: string): Piece[] {
  // The words are slices of the input: parseWords copies every character of a word except an escape
  // token at the very end of the input, which it drops.
  const e = esc.charCodeAt(0);
  const words: Piece[] = [];
  const n = rest.length;
  let pos = 0;
  while (pos < n) {
    while (pos < n && isSpace(rest.charCodeAt(pos))) pos++;
    if (pos >= n) break;
    const start = pos;
    let blankOK = false;
    let quote = 0;
    let end = -1;
    while (pos < n) {
      const c = rest.charCodeAt(pos);
      if (quote === 0) {
        // isSpace, without a call for the characters above the ASCII spaces (nearly all).
        if (c <= 0x20 ? c === 0x20 || (c >= 0x09 && c <= 0x0d) : c >= 0x85 && isSpace(c)) break;
        if (c === 0x27 || c === 0x22) {
          quote = c;
          blankOK = true;
          pos++;
          continue;
        }
      } else if (c === quote) {
        quote = 0;
        pos++;
        continue;
      }
      if (c === e && quote !== 0x27) {
        if (pos + 1 === n) {
          end = pos;
          pos++;
          break;
        }
        pos += 2;
        continue;
      }
      pos++;
    }
    const stop = end >= 0 ? end : Math.min(pos, n);
    if (blankOK || stop > start) words.push({ text: rest.slice(start, stop), start, end: stop });
  }
  return words;
}

/** `reWhitespace.Split(rest, -1)` on a string already trimmed: `[\t\v\f\r ]+` separates. */
export function splitWhitespace(rest: string): Piece[] {
  const out: Piece[] = [];
  if (rest === '') return out;
  let start = 0;
  let i = 0;
  while (i <= rest.length) {
    const c = rest.charCodeAt(i);
    // isTokenSpace, without a call for the characters above space (nearly all).
    if (i === rest.length || (c <= 0x20 && isTokenSpace(c))) {
      out.push({ text: rest.slice(start, i), start, end: i });
      if (i === rest.length) break;
      let j = i;
      while (j < rest.length && isTokenSpace(rest.charCodeAt(j))) j++;
      start = j;
      i = j;
      continue;
    }
    i++;
  }
  return out;
}

/** `reWhitespace.Split(rest, 2)`: the first word and the remainder. */
export function splitFirstWhitespace(rest: string): Piece[] {
  for (let i = 0; i < rest.length; i++) {
    if (isTokenSpace(rest.charCodeAt(i))) {
      let j = i;
      while (j < rest.length && isTokenSpace(rest.charCodeAt(j))) j++;
      return [
        { text: rest.slice(0, i), start: 0, end: i },
        { text: rest.slice(j), start: j, end: rest.length },
      ];
    }
  }
  return [{ text: rest, start: 0, end: rest.length }];
}

/**
 * A builder flag's value as `extractBuilderFlags` produces it from the flag as written: quotes
 * removed, backslash escapes processed (always backslash, whatever the escape directive).
 */
export function processFlag(raw: string): string {
  let word = '';
  let inQuote = false;
  let quote = '';
  for (let pos = 0; pos < raw.length; pos++) {
    let ch = raw[pos]!;
    if (!inQuote) {
      if (ch === "'" || ch === '"') {
        quote = ch;
        inQuote = true;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === raw.length) continue;
        pos++;
        ch = raw[pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      inQuote = false;
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === raw.length) {
        inQuote = false;
        continue;
      }
      pos++;
      ch = raw[pos]!;
    }
    word += ch;
  }
  return word;
}

/**
 * `extractBuilderFlags`: the leading `--flag` words of an instruction's arguments (processed), and
 * where the remaining arguments start. Flags end at the first word not starting with `--`, or at
 * a lone `--` (dropped).
 */
export function extractBuilderFlags(line: string): { flags: Piece[]; restStart: number } {
  const flags: Piece[] = [];
  let pos = 0;
  const n = line.length;
  for (;;) {
    while (pos < n && isSpace(line.charCodeAt(pos))) pos++;
    if (pos >= n) return { flags, restStart: n };
    if (line[pos] !== '-' || pos + 1 === n || line[pos + 1] !== '-') return { flags, restStart: pos };
    const start = pos;
    let inQuote = false;
    let quote = '';
    while (pos < n) {
      const ch = line[pos]!;
      if (!inQuote) {
        if (isSpace(ch.charCodeAt(0))) break;
        if (ch === "'" || ch === '"') {
          inQuote = true;
          quote = ch;
        } else if (ch === '\\') pos++;
      } else if (ch === quote) inQuote = false;
      else if (ch === '\\') pos++;
      pos++;
    }
    pos = Math.min(pos, n);
    const raw = line.slice(start, pos);
    const text = processFlag(raw);
    if (text === '--') return { flags, restStart: pos };
    if (text.length > 0 || /["']/.test(raw)) flags.push({ text, start, end: pos });
  }
}

/** `splitCommand`: keyword, flags and the (trimmed) arguments of a logical line. */
export function splitCommand(line: string): {
  cmd: Piece;
  flags: Piece[];
  args: Piece;
} {
  let s = 0;
  while (s < line.length && isSpace(line.charCodeAt(s))) s++;
  let e = line.length;
  while (e > s && isSpace(line.charCodeAt(e - 1))) e--;
  let k = s;
  while (k < e && !isTokenSpace(line.charCodeAt(k))) k++;
  const cmd = { text: line.slice(s, k), start: s, end: k };
  let r = k;
  while (r < e && isTokenSpace(line.charCodeAt(r))) r++;
  if (r >= e && k >= e) return { cmd, flags: [], args: { text: '', start: e, end: e } };
  const sub = line.slice(r, e);
  const { flags, restStart } = extractBuilderFlags(sub);
  let a = r + restStart;
  while (a < e && isSpace(line.charCodeAt(a))) a++;
  return {
    cmd,
    flags: flags.map((f) => ({ text: f.text, start: f.start + r, end: f.end + r })),
    args: { text: line.slice(a, e), start: a, end: e },
  };
}
