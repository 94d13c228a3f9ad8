/**
 * What is at the cursor, read from the text (the file being typed is often not parseable yet): the
 * logical line up to the cursor (continuation lines joined), its keyword and words, the word being
 * typed, and whether the cursor is in a comment or a heredoc body.
 */
import type { Heredoc } from '../syntax/ast.js';
import type { Analysis, Position } from './analysis.js';

export interface Cursor {
  offset: number;
  /** The logical line from its first character to the cursor, continuations removed. */
  prefix: string;
  /** The instruction keyword (upper case) when one has been typed; ONBUILD's inner keyword. */
  keyword: string | undefined;
  /** Whitespace-separated words of the prefix after the keyword (the last one may be partial). */
  words: string[];
  /** The word being typed (possibly empty) and where it starts in the document. */
  word: string;
  wordStart: number;
  /** The cursor is on the keyword's own word (or at the start of a line). */
  atKeyword: boolean;
  inComment: boolean;
  heredoc: Heredoc | undefined;
  /** An offset as an LSP position. */
  pos: (offset: number) => Position;
}

export function cursorAt(a: Analysis, offset: number): Cursor {
  const { text, lines } = a;
  const esc = a.ast.escape;
  const heredoc = heredocAt(a, offset);
  let line = lines.position(offset).line;
  let prefix = text.slice(lines.lineStart(line), offset);
  const inComment = /^\s*#/.test(prefix);
  // Prepend the previous physical lines while they end with the escape character (a continuation);
  // comment lines inside a continuation are skipped, as the parser does.
  while (line > 0 && !heredoc) {
    const prevStart = lines.lineStart(line - 1);
    const prev = text.slice(prevStart, lines.lineStart(line)).replace(/\r?\n$|\r$/, '');
    if (/^\s*#/.test(prev)) {
      line--;
      continue;
    }
    const trimmed = prev.replace(/[ \t]+$/, '');
    // BuildKit: a line ending in the escape character (then blanks) continues, whatever precedes it.
    if (!trimmed.endsWith(esc)) break;
    prefix = `${trimmed.slice(0, -1)} ${prefix}`;
    line--;
  }
  const m = /(\S*)$/.exec(prefix)!;
  const word = m[1]!;
  const all = prefix.trimStart().split(/\s+/);
  let keyword: string | undefined;
  let words = all;
  let atKeyword = all.length <= 1;
  if (all.length > 1) {
    keyword = all[0]!.toUpperCase();
    words = all.slice(1);
    if (keyword === 'ONBUILD') {
      atKeyword = words.length <= 1;
      keyword = words.length > 1 ? words[0]!.toUpperCase() : undefined;
      words = words.slice(1);
    }
  }
  return {
    offset,
    prefix,
    keyword,
    words,
    word,
    wordStart: offset - word.length,
    atKeyword: atKeyword && !inComment,
    inComment,
    heredoc,
    pos: (o) => lines.position(o),
  };
}

function heredocAt(a: Analysis, offset: number): Heredoc | undefined {
  for (const ins of a.ast.instructions) {
    for (const h of ins.inner?.heredocs ?? ins.heredocs) {
      if (h.bodyRange.start.offset <= offset && offset < h.bodyRange.end.offset) return h;
    }
    if (ins.range.start.offset > offset) break;
  }
  return undefined;
}
