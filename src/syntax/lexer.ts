/**
 * Pass 2 tokens (Chevrotain). Logical lines are lexed joined by `\n`. Words are split on BuildKit's
 * token whitespace `[\t\v\f\r ]` and keep quotes and escapes; a keyword is a word on its own, any
 * case. The escape directive changes how words are lexed, so there is one lexer per escape token,
 * both built once per process.
 */
import type { Lexer as LexerType, TokenType } from 'chevrotain';
import type { EscapeChar } from './ast.js';
import { createToken, Lexer } from './chevrotain.js';

const END = '(?=[ \\t\\v\\f\\r\\n]|(?![\\s\\S]))';

export const Newline = createToken({ name: 'Newline', pattern: /\n/, line_breaks: true });
export const Whitespace = createToken({ name: 'Whitespace', pattern: /[ \t\v\f\r]+/, group: Lexer.SKIPPED });

/** Any word, keywords included (a keyword is an ordinary word in argument position). */
export const Word = createToken({ name: 'Word', pattern: Lexer.NA });
/** A word that is not a keyword. */
export const PlainWord = createToken({ name: 'PlainWord', pattern: Lexer.NA, categories: [Word] });

/** `--` alone ends the builder flags. */
export const DashDash = createToken({
  name: 'DashDash',
  pattern: new RegExp(`--${END}`),
  categories: [PlainWord],
});
/** `--name[=value]`; quotes group spaces, backslash escapes (always backslash, as in BuildKit). */
export const Flag = createToken({
  name: 'Flag',
  pattern: /--(?:[^ \t\n\v\f\r"'\\]|\\[^\n]?|"(?:[^"\\\n]|\\[^\n]?)*"?|'(?:[^'\\\n]|\\[^\n]?)*'?)*/,
  categories: [PlainWord],
});

function wordPattern(esc: string): RegExp {
  const e = esc === '\\' ? '\\\\' : esc;
  return new RegExp(`(?:[^ \\t\\n\\v\\f\\r"'${e}]|${e}[^\\n]?|"(?:[^"${e}\\n]|${e}[^\\n]?)*"?|'[^'\\n]*'?)+`);
}
export const WordBackslash = createToken({
  name: 'WordBackslash',
  pattern: wordPattern('\\'),
  categories: [PlainWord],
});
export const WordBacktick = createToken({
  name: 'WordBacktick',
  pattern: wordPattern('`'),
  categories: [PlainWord],
});

/** Dockerfile instructions and rootc's extensions. */
export const instructionNames = [
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
  'REMOVE',
  'INCLUDE',
  'ANNOTATION',
] as const;
export type InstructionName = (typeof instructionNames)[number];

function keyword(name: string): TokenType {
  return createToken({ name, pattern: new RegExp(`${name}${END}`, 'i'), categories: [Word] });
}

export const keywords = Object.fromEntries(instructionNames.map((n) => [n, keyword(n)])) as Record<
  InstructionName,
  TokenType
>;
export const As = keyword('AS');

const common: TokenType[] = [Newline, Whitespace, DashDash, Flag, ...Object.values(keywords), As];
export const allTokens: TokenType[] = [...common, Word, PlainWord, WordBackslash, WordBacktick];

const lexers = new Map<EscapeChar, LexerType>();

/** The lexer for an escape token, built on first use. */
export function lexerFor(esc: EscapeChar): LexerType {
  let lx = lexers.get(esc);
  if (!lx) {
    lx = new Lexer([...common, esc === '\\' ? WordBackslash : WordBacktick], {
      positionTracking: 'onlyOffset',
      ensureOptimizations: false,
      skipValidations: true,
    });
    lexers.set(esc, lx);
  }
  return lx;
}
