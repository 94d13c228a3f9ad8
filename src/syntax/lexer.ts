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

export type Family =
  | 'shell' // RUN CMD ENTRYPOINT SHELL: exec form or one shell string
  | 'list' // ADD COPY VOLUME REMOVE: exec form or whitespace-separated words
  | 'words' // EXPOSE: whitespace-separated words
  | 'string' // USER WORKDIR STOPSIGNAL MAINTAINER: the rest of the line
  | 'keyValue' // ENV LABEL (incl. legacy `ENV k v`)
  | 'annotation' // ANNOTATION key=value…
  | 'arg' // ARG name[=value]…
  | 'include' // INCLUDE name KEY=VALUE…
  | 'healthcheck'
  | 'from'
  | 'onbuild'
  | 'unknown';

export const familyOf: Record<InstructionName, Family> = {
  RUN: 'shell',
  CMD: 'shell',
  ENTRYPOINT: 'shell',
  SHELL: 'shell',
  ADD: 'list',
  COPY: 'list',
  VOLUME: 'list',
  REMOVE: 'list',
  EXPOSE: 'words',
  USER: 'string',
  WORKDIR: 'string',
  STOPSIGNAL: 'string',
  MAINTAINER: 'string',
  ENV: 'keyValue',
  LABEL: 'keyValue',
  ANNOTATION: 'annotation',
  ARG: 'arg',
  INCLUDE: 'include',
  HEALTHCHECK: 'healthcheck',
  FROM: 'from',
  ONBUILD: 'onbuild',
};

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
    lx = new Lexer([Newline, Whitespace, Flag, esc === '\\' ? WordBackslash : WordBacktick], {
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

/**
 * Lexes logical lines joined by `\n`, then tags keywords, `--` and FROM's `AS`. Arguments after the
 * flags are one token to the end of the line (their values come from the text, by BuildKit's rules),
 * except in FROM, whose grammar looks at each word: fewer tokens, a faster parse.
 */
export function tokenize(text: string, esc: EscapeChar): ILexingResult {
  const result = lexerFor(esc).tokenize(text);
  const word = esc === '\\' ? WordBackslash : WordBacktick;
  const out: IToken[] = [];
  // start: the keyword comes next; onbuild: ONBUILD's flags, then a keyword; flags: the
  // instruction's flags; rest: merging arguments; from: FROM's words, kept apart.
  let phase: 'start' | 'onbuild' | 'flags' | 'rest' | 'from' = 'start';
  let restStart: IToken | undefined;
  let restEnd = 0;
  const flush = () => {
    if (!restStart) return;
    const end = restEnd;
    out.push({
      image: text.slice(restStart.startOffset, end + 1),
      startOffset: restStart.startOffset,
      endOffset: end,
      tokenType: word,
      tokenTypeIdx: word.tokenTypeIdx!,
    } as IToken);
    restStart = undefined;
  };
  for (const t of result.tokens) {
    const type = t.tokenType;
    if (type === Newline) {
      flush();
      out.push(t);
      phase = 'start';
      continue;
    }
    switch (phase) {
      case 'rest':
        restStart ??= t;
        restEnd = t.endOffset ?? t.startOffset + t.image.length - 1;
        continue;
      case 'from':
        if (type === Flag && t.image === '--') retag(t, DashDash);
        else if (t.image.length === 2 && /^as$/i.test(t.image)) retag(t, As);
        out.push(t);
        continue;
      case 'onbuild':
      case 'flags':
        if (type === Flag) {
          if (t.image === '--') {
            retag(t, DashDash);
            if (phase === 'flags') phase = 'rest';
          }
          out.push(t);
          continue;
        }
        if (phase === 'flags') {
          phase = 'rest';
          restStart = t;
          restEnd = t.endOffset ?? t.startOffset + t.image.length - 1;
          continue;
        }
        break;
    }
    // start of an instruction (or of ONBUILD's)
    out.push(t);
    const kw = type === Flag ? undefined : keywordOf(t);
    if (kw) retag(t, kw);
    phase = kw === keywords.ONBUILD ? 'onbuild' : kw === keywords.FROM ? 'from' : 'flags';
  }
  flush();
  result.tokens = out;
  return result;
}
