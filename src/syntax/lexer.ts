/**
 * Pass 2 tokens (Chevrotain). Logical lines are lexed joined by `\n`. Words are split on BuildKit's
 * token whitespace `[\t\v\f\r ]` and keep quotes and escapes. The escape directive changes how
 * words are lexed, so there is one lexer per escape token, both built once per process.
 *
 * The lexer itself knows four patterns only (newline, blanks, `--flag`, word): a keyword is a word
 * in keyword position, so after lexing, the first word of each line (and of ONBUILD's instruction,
 * and FROM's `AS`) is re-tagged with its keyword token type. This keeps keywords usable as plain
 * words everywhere else, and keeps the lexer to four regexes per token.
 */
import type { ILexingResult, IToken, Lexer as LexerType, TokenType } from 'chevrotain';
import type { EscapeChar } from './ast.js';
import { createToken, Lexer } from './chevrotain.js';
import {
  type Family,
  familyOf,
  flagPattern,
  type InstructionName,
  instructionNames,
  wordPattern,
} from './keywords.js';

export { type Family, familyOf, type InstructionName, instructionNames } from './keywords.js';

export const Newline = createToken({ name: 'Newline', pattern: /\n/, line_breaks: true });
export const Whitespace = createToken({ name: 'Whitespace', pattern: /[ \t\v\f\r]+/, group: Lexer.SKIPPED });

/** Any word, keywords included (a keyword is an ordinary word in argument position). */
export const Word = createToken({ name: 'Word', pattern: Lexer.NA });
/** A word that is not a keyword. */
export const PlainWord = createToken({ name: 'PlainWord', pattern: Lexer.NA, categories: [Word] });

/** `--` alone ends the builder flags. */
export const DashDash = createToken({ name: 'DashDash', pattern: Lexer.NA, categories: [PlainWord] });
/** `--name[=value]`; quotes group spaces, backslash escapes (always backslash, as in BuildKit). */
export const Flag = createToken({
  name: 'Flag',
  pattern: flagPattern,
  categories: [PlainWord],
});

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

/**
 * An instruction's arguments after its keyword and flags, to the end of the line, as one token: their
 * values come from the text by BuildKit's rules, so the parser needs no word tokens there. Not in
 * FROM (its grammar looks at each word) nor for ONBUILD's own instruction keyword.
 */
export const Rest = createToken({
  name: 'Rest',
  pattern: { exec: matchRest },
  line_breaks: false,
  categories: [PlainWord],
});

function matchRest(text: string, offset: number, tokens: IToken[]): RegExpExecArray | null {
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

/** One token category per instruction family: the grammar has one rule per family. */
export const familyTokens = new Map<Family, TokenType>();
for (const f of new Set(Object.values(familyOf))) {
  familyTokens.set(f, createToken({ name: `${f}Keyword`, pattern: Lexer.NA, categories: [Word] }));
}

function keyword(name: string, family?: Family): TokenType {
  return createToken({ name, pattern: Lexer.NA, categories: [family ? familyTokens.get(family)! : Word] });
}

export const keywords = Object.fromEntries(
  instructionNames.map((n) => [n, keyword(n, familyOf[n])]),
) as Record<InstructionName, TokenType>;
export const As = keyword('AS');

export const allTokens: TokenType[] = [
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
const keywordByName = new Map<string, TokenType>(Object.entries(keywords));

const lexers = new Map<EscapeChar, LexerType>();

/** The lexer for an escape token, built on first use. */
export function lexerFor(esc: EscapeChar): LexerType {
  let lx = lexers.get(esc);
  if (!lx) {
    lx = new Lexer([Newline, Whitespace, Flag, Rest, esc === '\\' ? WordBackslash : WordBacktick], {
      positionTracking: 'onlyOffset',
      ensureOptimizations: false,
      skipValidations: true,
    });
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
  return keywordByName.get(image.toUpperCase());
}

/** Lexes logical lines joined by `\n`, then tags keywords, `--` and FROM's `AS`. */
export function tokenize(text: string, esc: EscapeChar): ILexingResult {
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
