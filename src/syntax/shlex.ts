/**
 * A port of BuildKit's shell word lexer (`frontend/dockerfile/shell/lex.go`) in the one mode the
 * parser needs: no variables are set and unset ones are kept as written (`SkipUnsetEnv`). The parser
 * uses it to find heredocs (`heredocsFromLine`), and `unquote` gives a word with its quotes and
 * escapes processed but its `$…` left alone. Variable expansion proper is the lowering phase's job.
 */
import { isSpace } from './unicode.js';

export interface ShlexOptions {
  escape: string;
  /** Keep quote characters in the output. */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
}

export interface ShlexWord {
  text: string;
  /** Offset in the input of the word's first character. */
  start: number;
  /** Offset just after the word's last character. */
  end: number;
}

export interface ShlexResult {
  /** The whole input processed (ProcessWord). */
  result: string;
  /** The input split into words (ProcessWords). */
  words: ShlexWord[];
}

export class ShlexError extends Error {}

const EOF = -1;

class Words {
  word = '';
  inWord = false;
  start = 0;
  words: ShlexWord[] = [];
  private begin(pos: number): void {
    if (!this.inWord) {
      this.inWord = true;
      this.start = pos;
    }
  }
  addChar(ch: string, pos: number): void {
    const space = isSpace(ch.charCodeAt(0));
    if (space && this.inWord) {
      if (this.word.length !== 0) {
        this.words.push({ text: this.word, start: this.start, end: pos });
        this.word = '';
        this.inWord = false;
      }
    } else if (!space) {
      this.addRawChar(ch, pos);
    }
  }
  addRawChar(ch: string, pos: number): void {
    this.begin(pos);
    this.word += ch;
  }
  addString(s: string, pos: number): void {
    for (const ch of s) this.addChar(ch, pos);
  }
  addRawString(s: string, pos: number): void {
    this.begin(pos);
    this.word += s;
  }
  getWords(end: number): ShlexWord[] {
    if (this.word.length > 0) {
      this.words.push({ text: this.word, start: this.start, end });
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class Lexer {
  pos = 0;
  rawEscapes: boolean;
  constructor(
    private readonly src: string,
    private readonly escapeToken: string,
    private readonly rawQuotes: boolean,
    rawEscapes: boolean,
  ) {
    this.rawEscapes = rawEscapes;
  }

  peek(): string | typeof EOF {
    if (this.pos >= this.src.length) return EOF;
    const c = this.src.codePointAt(this.pos)!;
    return String.fromCodePoint(c);
  }
  next(): string | typeof EOF {
    const ch = this.peek();
    if (ch !== EOF) this.pos += ch.length;
    return ch;
  }

  processStopOn(stop: string | typeof EOF, rawEscapes: boolean): { result: string; words: ShlexWord[] } {
    let result = '';
    const words = new Words();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      for (;;) {
        const ch = this.peek();
        if (ch === EOF) break;
        if (stop !== EOF && ch === stop) {
          this.next();
          return { result, words: words.getWords(this.pos - 1) };
        }
        const at = this.pos;
        if (ch === '$') {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp, at);
        } else if (ch === "'" || ch === '"') {
          const tmp = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp, at);
        } else {
          let c = this.next() as string;
          if (c === this.escapeToken) {
            if (this.rawEscapes) {
              words.addRawChar(c, at);
              result += c;
            }
            const n = this.next();
            if (n === EOF) break;
            c = n;
            words.addRawChar(c, at);
          } else {
            words.addChar(c, at);
          }
          result += c;
        }
      }
      if (stop !== EOF) {
        throw new ShlexError(`unexpected end of statement while looking for matching ${stop}`);
      }
      return { result, words: words.getWords(this.pos) };
    } finally {
      this.rawEscapes = saved;
    }
  }

  processSingleQuote(): string {
    let result = '';
    const open = this.next() as string;
    if (this.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF)
        throw new ShlexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  processDoubleQuote(): string {
    let result = '';
    const open = this.next() as string;
    if (this.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF)
        throw new ShlexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        if (this.rawQuotes) result += p;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next() as string;
      if (ch === this.escapeToken) {
        if (this.rawEscapes) result += ch;
        const n = this.peek();
        if (n === EOF) continue;
        if (n === '"' || n === '$' || n === this.escapeToken) ch = this.next() as string;
      }
      result += ch;
    }
  }

  /** Every variable is unset and kept as written (SkipUnsetEnv). */
  processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      return name === '' ? '$' : `$${name}`;
    }
    this.next();
    const p = this.peek();
    if (p === EOF) throw new ShlexError("syntax error: missing '}'");
    if (p === '{' || p === '}' || p === ':') throw new ShlexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let chs = ch === EOF ? '' : ch;
    switch (ch) {
      case '}':
        return `\${${name}}`;
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        if (ch === ':') {
          ch = this.next();
          chs += ch === EOF ? '' : ch;
        }
        const raw = ch === '#' || ch === '%';
        let word: string;
        try {
          word = this.processStopOn('}', raw).result;
        } catch (e) {
          if (this.peek() === EOF) throw new ShlexError("syntax error: missing '}'");
          throw e;
        }
        // `${a:x}` (an unsupported modifier) is an error in BuildKit only when the variable is set;
        // unset ones are kept as written, like here.
        return `\${${name}${chs}${word}}`;
      }
      case '/': {
        if (this.peek() === '/') this.next();
        let pattern: string;
        let replacement: string;
        try {
          pattern = this.processStopOn('/', true).result;
        } catch (e) {
          if (this.peek() === EOF) throw new ShlexError("syntax error: missing '/' in $" + '{}');
          throw e;
        }
        try {
          replacement = this.processStopOn('}', true).result;
        } catch (e) {
          if (this.peek() === EOF) throw new ShlexError("syntax error: missing '}'");
          throw e;
        }
        return `\${${name}/${pattern}/${replacement}}`;
      }
      default:
        throw new ShlexError(`unsupported modifier (${chs}) in substitution`);
    }
  }

  processName(): string {
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) break;
      if (name.length === 0 && /\p{Nd}/u.test(ch)) {
        while (this.peek() !== EOF && /\p{Nd}/u.test(this.peek() as string)) name += this.next();
        return name;
      }
      if (name.length === 0 && '@*#?-$!0'.includes(ch)) {
        this.next();
        return ch;
      }
      if (!/[\p{L}\p{Nd}_]/u.test(ch)) break;
      name += this.next();
    }
    return name;
  }
}

/** BuildKit's `Lex.process` with no variables set and SkipUnsetEnv. Throws ShlexError. */
export function shlex(input: string, options: ShlexOptions): ShlexResult {
  const lx = new Lexer(input, options.escape, options.rawQuotes ?? false, options.rawEscapes ?? false);
  const { result, words } = lx.processStopOn(EOF, options.rawEscapes ?? false);
  return { result, words };
}

/**
 * A word with its quotes and escapes processed as Docker's shell lexer does, `$…` kept as written.
 * When the word is malformed (an unterminated quote), returns it unchanged with the error.
 */
export function unquote(raw: string, esc = '\\'): { value: string; error?: string } {
  // Without quotes or escapes there is nothing to process (unset variables stay as written).
  if (!raw.includes('"') && !raw.includes("'") && !raw.includes(esc)) return { value: raw };
  const quick = unquoteQuotesOnly(raw, esc);
  if (quick !== undefined) return { value: quick };
  try {
    return { value: shlex(raw, { escape: esc }).result };
  } catch (e) {
    return { value: raw, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * `unquote` for a word whose only special characters are quotes (and `$` not followed by `{`, which
 * the lexer keeps as written when nothing is set): the quotes removed, everything else as written.
 * Undefined when the word has an escape character, a `${`, or an unterminated quote.
 */
function unquoteQuotesOnly(raw: string, esc: string): string | undefined {
  if (raw.includes(esc) || raw.includes('${')) return undefined;
  let out = '';
  let from = 0;
  for (;;) {
    const dq = raw.indexOf('"', from);
    const sq = raw.indexOf("'", from);
    const open = dq < 0 ? sq : sq < 0 ? dq : Math.min(dq, sq);
    if (open < 0) return out + raw.slice(from);
    const close = raw.indexOf(raw[open]!, open + 1);
    if (close < 0) return undefined;
    out += raw.slice(from, open) + raw.slice(open + 1, close);
    from = close + 1;
  }
}
