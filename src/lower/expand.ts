/**
 * Word expansion with Docker's rules: a port of BuildKit's `frontend/dockerfile/shell` Lex
 * (`$V`, `${V}`, `${V:-x}`, `${V-x}`, `${V:+x}`, `${V+x}`, `${V:?msg}`, `${V?msg}`, `${V#p}`, `${V##p}`,
 * `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}`, single and double quotes, the escape character).
 *
 * Pure: errors are returned, never thrown. Strings are walked by code point, as Go walks runes.
 */

export interface LexOptions {
  /** The escape character from the `# escape=` directive (default `\`). */
  escapeToken?: string;
  /** Keep the quote characters in the result (quotes still group words). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (used for heredoc bodies of COPY/ADD). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written. */
  skipUnsetEnv?: boolean;
}

export type ExpandEnv = ReadonlyMap<string, string>;

export interface ExpandOk {
  ok: true;
  /** The word with quotes processed and variables substituted. */
  value: string;
  /** The word split on unquoted whitespace (after substitution), as ProcessWords returns it. */
  words: string[];
  /** Variables found in the environment. */
  matched: ReadonlySet<string>;
  /** Variables referenced but not set. */
  unmatched: ReadonlySet<string>;
  /** Unset variables referenced without a `-`/`+`/`?` modifier (candidates for an undefined-variable warning). */
  unmatchedBare: ReadonlySet<string>;
}

export interface ExpandError {
  ok: false;
  message: string;
  /** `${V?msg}` / `${V:?msg}` failed: the word itself is fine, the variable is required. */
  required: boolean;
}

export type ExpandResult = ExpandOk | ExpandError;

const EOF = undefined;

class LexFailure {
  constructor(
    readonly message: string,
    readonly required = false,
  ) {}
}

// Per-character predicates on one code point, with ASCII answered without a regex (hot in cold code).
function isSpace(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return /^\s$/u.test(ch);
}
function isDigit(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return c >= 0x30 && c <= 0x39;
  return /^\p{Nd}$/u.test(ch);
}
function isLetter(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return /^\p{L}$/u.test(ch);
}
function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch);
}

class Words {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (isSpace(ch) && this.inWord) {
      if (this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else if (!isSpace(ch)) {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  getWords(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private rawEscapes: boolean;
  readonly escape: string;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  readonly unmatchedBare = new Set<string>();

  constructor(
    word: string,
    private readonly env: ExpandEnv,
    private readonly opts: LexOptions,
  ) {
    this.chars = Array.from(word);
    this.rawEscapes = opts.rawEscapes ?? false;
    this.escape = opts.escapeToken ?? '\\';
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    const ch = this.chars[this.pos];
    if (ch !== undefined) this.pos++;
    return ch;
  }

  process(): { value: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  processStopOn(stopChar: string | undefined, rawEscapes: boolean): { value: string; words: string[] } {
    let result = '';
    const words = new Words();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      while (this.peek() !== EOF) {
        let ch = this.peek()!;
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return { value: result, words: words.getWords() };
        }
        if (ch === '$') {
          const tmp = this.processDollar(false);
          result += tmp;
          words.addString(tmp);
        } else if (!this.opts.skipProcessQuotes && (ch === "'" || ch === '"')) {
          const tmp = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else {
          ch = this.next()!;
          if (ch === this.escape) {
            if (this.rawEscapes) {
              words.addRawChar(ch);
              result += ch;
            }
            const escaped = this.next();
            if (escaped === EOF) break;
            ch = escaped;
            words.addRawChar(ch);
          } else {
            words.addChar(ch);
          }
          result += ch;
        }
      }
      if (stopChar !== EOF) {
        throw new LexFailure(`unexpected end of statement while looking for matching ${stopChar}`);
      }
      return { value: result, words: words.getWords() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let result = '';
    let ch = this.next()!;
    if (this.opts.rawQuotes) result += ch;
    for (;;) {
      ch = this.next()!;
      if (ch === EOF)
        throw new LexFailure('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    const open = this.next()!;
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF)
        throw new LexFailure('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const ch = this.next()!;
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      if (p === '$') {
        result += this.processDollar(true);
        continue;
      }
      let ch = this.next()!;
      if (ch === this.escape) {
        if (this.rawEscapes) result += ch;
        const q = this.peek();
        if (q === EOF) continue; // a lone escape at the end of the word is dropped
        if (q === '"' || q === '$' || q === this.escape) ch = this.next()!;
      }
      result += ch;
    }
  }

  private processDollar(_quoted: boolean): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const [value, found] = this.getEnv(name, true);
      if (!found && this.opts.skipUnsetEnv) return '$' + name;
      return value;
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new LexFailure("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':')
      throw new LexFailure('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    if (ch === EOF) throw new LexFailure("syntax error: missing '}'");
    let chs = ch;
    let nullIsUnset = false;
    switch (ch) {
      case '}': {
        const [value, set] = this.getEnv(name, true);
        if (!set && this.opts.skipUnsetEnv) return `\${${name}}`;
        return value;
      }
      case '/':
        return this.processReplace(name);
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        if (ch === ':') {
          nullIsUnset = true;
          ch = this.next();
          if (ch === EOF) throw new LexFailure("syntax error: missing '}'");
          chs += ch;
        }
        const rawEscapes = ch === '#' || ch === '%';
        let word: string;
        try {
          word = this.processStopOn('}', rawEscapes).value;
        } catch (e) {
          if (e instanceof LexFailure && this.peek() === EOF && !e.required) {
            throw new LexFailure("syntax error: missing '}'");
          }
          throw e;
        }
        const bare = ch === '#' || ch === '%';
        const [value, set] = this.getEnv(name, bare);
        if (this.opts.skipUnsetEnv && !set) return `\${${name}${chs}${word}}`;
        switch (ch) {
          case '-':
            return !set || (nullIsUnset && value === '') ? word : value;
          case '+':
            return !set || (nullIsUnset && value === '') ? '' : word;
          case '?':
            if (!set)
              throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`, true);
            if (nullIsUnset && value === '') {
              throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`, true);
            }
            return value;
          case '%':
          case '#': {
            let greedy = false;
            let pattern = word;
            if (pattern.length > 0 && pattern[0] === ch) {
              greedy = true;
              pattern = pattern.slice(1);
            }
            return ch === '%' ? trimSuffix(pattern, value, greedy) : trimPrefix(pattern, value, greedy);
          }
          default:
            throw new LexFailure(`unsupported modifier (${chs}) in substitution`);
        }
      }
      default:
        throw new LexFailure(`unsupported modifier (${chs}) in substitution`);
    }
  }

  private processReplace(name: string): string {
    const replaceAll = this.peek() === '/';
    if (replaceAll) this.next();
    let pattern: string;
    try {
      pattern = this.processStopOn('/', true).value;
    } catch (e) {
      if (e instanceof LexFailure && this.peek() === EOF) {
        throw new LexFailure("syntax error: missing '/' in $" + '{}');
      }
      throw e;
    }
    let replacement: string;
    try {
      replacement = this.processStopOn('}', true).value;
    } catch (e) {
      if (e instanceof LexFailure && this.peek() === EOF) throw new LexFailure("syntax error: missing '}'");
      throw e;
    }
    const [value, set] = this.getEnv(name, false);
    if (this.opts.skipUnsetEnv && !set) return `\${${name}/${pattern}/${replacement}}`;
    const re = shellPatternToRegex(pattern, true, false, replaceAll);
    if (replaceAll) return value.replace(re, () => replacement);
    const m = re.exec(value);
    if (!m) return value;
    return value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length);
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek()!;
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek()!)) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) {
        this.next();
        return ch;
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private getEnv(name: string, bare: boolean): [string, boolean] {
    const value = this.env.get(name);
    if (value !== undefined) {
      this.matched.add(name);
      return [value, true];
    }
    this.unmatched.add(name);
    if (bare) this.unmatchedBare.add(name);
    return ['', false];
  }
}

/**
 * A shell wildcard pattern (`?` one character, `*` any string, `\` escapes) as a regular expression,
 * like BuildKit's convertShellPatternToRegex (no bracket expressions). Throws LexFailure on a bad escape.
 */
function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i]!;
    switch (tok) {
      case '*':
        out += star;
        continue;
      case '?':
        out += '.';
        continue;
      case '\\': {
        const nextCh = chars[i + 1];
        // `}` and `/` are escaped for ${}, the escape is not part of the pattern
        if (nextCh === '}' || nextCh === '/') continue;
        i++;
        if (nextCh !== '*' && nextCh !== '?' && nextCh !== '\\') {
          throw new LexFailure(
            `invalid pattern (${pattern}) in substitution: invalid escape '\\${nextCh ?? ''}'`,
          );
        }
        out += '\\' + nextCh;
        continue;
      }
      case '[':
      case ']':
      case '{':
      case '}':
      case '.':
      case '+':
      case '(':
      case ')':
      case '|':
      case '^':
      case '$':
        out += '\\' + tok;
        continue;
      default:
        out += tok;
    }
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const re = shellPatternToRegex(pattern, greedy, true);
  const m = re.exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** Reverse a pattern keeping each escape before the character it escapes (`a\*c` → `c\*a`). */
export function reversePattern(pattern: string): string {
  const runes = Array.from(pattern);
  const out: string[] = new Array(runes.length);
  const last = runes.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = runes[i]!;
    const outIdx = last - i;
    if (tok === '\\' && i !== last) {
      out[outIdx - 1] = tok;
      out[outIdx] = runes[i + 1]!;
      i += 2;
    } else {
      out[outIdx] = tok;
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

const NOTHING = new Set<string>();

function run(word: string, env: ExpandEnv, opts: LexOptions): ExpandResult {
  // Most words have nothing to expand: no `$`, no quote, no escape character.
  const escapeChar = opts.escapeToken ?? '\\';
  if (!word.includes('$') && !word.includes(escapeChar) && (opts.skipProcessQuotes || !/["']/.test(word))) {
    // \s is the same set with or without the u flag; a word without any is its only word.
    const words = !/\s/.test(word) ? (word === '' ? [] : [word]) : word.split(/\s+/u).filter((w) => w !== '');
    return { ok: true, value: word, words, matched: NOTHING, unmatched: NOTHING, unmatchedBare: NOTHING };
  }
  const sw = new ShellWord(word, env, opts);
  try {
    const { value, words } = sw.process();
    return {
      ok: true,
      value,
      words,
      matched: sw.matched,
      unmatched: sw.unmatched,
      unmatchedBare: sw.unmatchedBare,
    };
  } catch (e) {
    if (e instanceof LexFailure) return { ok: false, message: e.message, required: e.required };
    if (e instanceof SyntaxError)
      return { ok: false, message: `invalid pattern: ${e.message}`, required: false };
    throw e;
  }
}

/** Expand one word (BuildKit's ProcessWord). */
export function expandWord(word: string, env: ExpandEnv, opts: LexOptions = {}): ExpandResult {
  return run(word, env, opts);
}

/** Expand then split into words on unquoted whitespace (BuildKit's ProcessWords). */
export function expandWords(word: string, env: ExpandEnv, opts: LexOptions = {}): ExpandResult {
  return run(word, env, opts);
}

/** `K=V` strings to an environment map; later entries win (BuildKit's BuildEnvs). */
export function envFromList(list: readonly string[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of list) {
    const i = e.indexOf('=');
    if (i < 0) env.set(e, '');
    else env.set(e.slice(0, i), e.slice(i + 1));
  }
  return env;
}
