/**
 * Pass 2 tokens (Chevrotain). Logical lines are lexed joined by `\n`. Words are split on BuildKit's
 * token whitespace `[\t\v\f\r ]` and keep quotes and escapes. The escape directive changes how
 * words are lexed, so there is one lexer per escape token, both built once per process.
 *
 * The lexer itself knows four patterns only (newline, blanks, `--flag`, word): a keyword is a word
 * in keyword position, so after lexing, the first word of each line (and of ONBUILD's instruction,
 * and FROM's `AS`) is re-tagged with its keyword token type. This keeps keywords usable as plain
 * words everywhere else, and keeps the lexer to four regexes per token.
 *
 * The tokens are made on first use (`lexerTokens()`), and Chevrotain is loaded then: a file that
 * takes the fast path (`fast.ts`) needs neither.
 */
import type { ILexingResult, IToken, Lexer as LexerType, TokenType } from 'chevrotain';
import type { EscapeChar } from './ast.js';
import { chevrotain } from './chevrotain.js';
import {
  type Family,
  familyOf,
  flagPattern,
  type InstructionName,
  instructionNames,
  wordPattern,
} from './keywords.js';

export { type Family, familyOf, type InstructionName, instructionNames } from './keywords.js';

export interface LexerTokens {
  Newline: TokenType;
  Whitespace: TokenType;
  /** Any word, keywords included (a keyword is an ordinary word in argument position). */
  Word: TokenType;
  /** A word that is not a keyword. */
  PlainWord: TokenType;
  /** `--` alone ends the builder flags. */
  DashDash: TokenType;
  /** `--name[=value]`; quotes group spaces, backslash escapes (always backslash, as in BuildKit). */
  Flag: TokenType;
  WordBackslash: TokenType;
  WordBacktick: TokenType;
  /**
   * An instruction's arguments after its keyword and flags, to the end of the line, as one token:
   * their values come from the text by BuildKit's rules, so the parser needs no word tokens there.
   * Not in FROM (its grammar looks at each word) nor for ONBUILD's own instruction keyword.
   */
  Rest: TokenType;
  /** One token category per instruction family: the grammar has one rule per family. */
  familyTokens: Map<Family, TokenType>;
  keywords: Record<InstructionName, TokenType>;
  /** FROM's `AS`. */
  As: TokenType;
  allTokens: TokenType[];
}

let tokens: LexerTokens | undefined;

/** The token types, made on first use. */
export function lexerTokens(): LexerTokens {
  tokens ??= makeTokens();
  return tokens;
}

function makeTokens(): LexerTokens {
  const { createToken, Lexer } = chevrotain();
  const Newline = createToken({ name: 'Newline', pattern: /\n/, line_breaks: true });
  const Whitespace = createToken({ name: 'Whitespace', pattern: /[ \t\v\f\r]+/, group: Lexer.SKIPPED });
  const Word = createToken({ name: 'Word', pattern: Lexer.NA });
  const PlainWord = createToken({ name: 'PlainWord', pattern: Lexer.NA, categories: [Word] });
  const DashDash = createToken({ name: 'DashDash', pattern: Lexer.NA, categories: [PlainWord] });
  const Flag = createToken({ name: 'Flag', pattern: flagPattern, categories: [PlainWord] });
  const WordBackslash = createToken({
    name: 'WordBackslash',
    pattern: wordPattern('\\'),
    categories: [PlainWord],
  });
  const WordBacktick = createToken({
    name: 'WordBacktick',
    pattern: wordPattern('`'),
    categories: [PlainWord],
  });
  const Rest = createToken({
    name: 'Rest',
    pattern: {
      exec: (text: string, offset: number, toks: IToken[]) => matchRest(text, offset, toks, Newline, Flag),
    },
    line_breaks: false,
    categories: [PlainWord],
  });
  const familyTokens = new Map<Family, TokenType>();
  for (const f of new Set(Object.values(familyOf))) {
    familyTokens.set(f, createToken({ name: `${f}Keyword`, pattern: Lexer.NA, categories: [Word] }));
  }
  const keyword = (name: string, family?: Family): TokenType =>
    createToken({ name, pattern: Lexer.NA, categories: [family ? familyTokens.get(family)! : Word] });
  const keywords = Object.fromEntries(instructionNames.map((n) => [n, keyword(n, familyOf[n])])) as Record<
    InstructionName,
    TokenType
  >;
  const As = keyword('AS');
  const allTokens: TokenType[] = [
    Newline,
    Whitespace,
    Flag,
    Rest,
    Word,
    PlainWord,
    WordBackslash,
    WordBacktick,
    DashDash,
    ...familyTokens.values(),
    ...Object.values(keywords),
    As,
  ];
  return {
    Newline,
    Whitespace,
    Word,
    PlainWord,
    DashDash,
    Flag,
    WordBackslash,
    WordBacktick,
    Rest,
    familyTokens,
    keywords,
    As,
    allTokens,
  };
}

function matchRest(
  text: string,
  offset: number,
  tokens: IToken[],
  Newline: TokenType,
  Flag: TokenType,
): RegExpExecArray | null {
  let start = tokens.length;
  while (start > 0 && tokens[start - 1]!.tokenType !== Newline) start--;
  let words = 0;
  let chain = 0; // leading ONBUILDs
  let keyword: string | undefined;
  for (let i = start; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.tokenType === Flag) continue;
    words++;
    if (keyword === undefined) {
      const up = t.image.length <= 7 ? t.image.toUpperCase() : '';
      if (up === 'ONBUILD') chain++;
      else keyword = up;
    }
  }
  if (keyword === undefined || keyword === 'FROM' || words !== chain + 1) return null;
  let end = text.indexOf('\n', offset);
  if (end < 0) end = text.length;
  return [text.slice(offset, end)] as unknown as RegExpExecArray;
}

const lexers = new Map<EscapeChar, LexerType>();
let keywordByName: Map<string, TokenType> | undefined;

/** The lexer for an escape token, built on first use. */
export function lexerFor(esc: EscapeChar): LexerType {
  let lx = lexers.get(esc);
  if (!lx) {
    const { Newline, Whitespace, Flag, Rest, WordBackslash, WordBacktick } = lexerTokens();
    lx = new (chevrotain().Lexer)(
      [Newline, Whitespace, Flag, Rest, esc === '\\' ? WordBackslash : WordBacktick],
      {
        positionTracking: 'onlyOffset',
        ensureOptimizations: false,
        skipValidations: true,
      },
    );
    lexers.set(esc, lx);
  }
  return lx;
}

function retag(t: IToken, type: TokenType): void {
  t.tokenType = type;
  t.tokenTypeIdx = type.tokenTypeIdx!;
}

function keywordOf(t: IToken): TokenType | undefined {
  const image = t.image;
  if (image.length > 11 || !/^[A-Za-z]+$/.test(image)) return undefined;
  keywordByName ??= new Map<string, TokenType>(Object.entries(lexerTokens().keywords));
  return keywordByName.get(image.toUpperCase());
}

/** Lexes logical lines joined by `\n`, then tags keywords, `--` and FROM's `AS`. */
export function tokenize(text: string, esc: EscapeChar): ILexingResult {
  const { Newline, Flag, DashDash, Rest, keywords, As } = lexerTokens();
  const result = lexerFor(esc).tokenize(text);
  let atStart = true;
  let inFrom = false;
  let inOnbuild = false;
  for (const t of result.tokens) {
    const type = t.tokenType;
    if (type === Newline) {
      atStart = true;
      inFrom = false;
      inOnbuild = false;
      continue;
    }
    if (type === Flag) {
      if (t.image === '--') retag(t, DashDash);
      // ONBUILD's own flags come before its instruction's keyword.
      if (!(atStart && inOnbuild)) atStart = false;
      continue;
    }
    if (atStart) {
      atStart = false;
      inOnbuild = false;
      const kw = type === Rest ? undefined : keywordOf(t);
      if (!kw) continue;
      retag(t, kw);
      if (kw === keywords.ONBUILD) {
        atStart = true;
        inOnbuild = true;
      } else if (kw === keywords.FROM) inFrom = true;
      continue;
    }
    if (inFrom && t.image.length === 2 && /^as$/i.test(t.image)) retag(t, As);
  }
  return result;
}
