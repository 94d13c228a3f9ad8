/** Heredoc detection, ported from BuildKit's `heredocsFromLine` / `heredocFromMatch`. */
import { ShlexError, shlex } from './shlex.js';

export interface HeredocWord {
  name: string;
  expand: boolean;
  chomp: boolean;
  fd: number;
  /** Offsets of the `<<EOF` word in the line. */
  start: number;
  end: number;
}

const reHeredoc = /^(\d*)<<(-?)([^<]*)$/;

/** Instructions whose (shell-form) line may open heredocs; ONBUILD may hold one of them. */
export const heredocInstructions = new Set(['run', 'copy', 'add']);

/** A `<<WORD` shell word as a heredoc, or undefined. Throws ShlexError like BuildKit's error. */
export function heredocFromWord(word: string): Omit<HeredocWord, 'start' | 'end'> | undefined {
  const m = reHeredoc.exec(word);
  if (!m) return undefined;
  const rest = m[3]!;
  if (rest.length === 0) return undefined;
  const words = shlex(rest, { escape: '\\' }).words;
  if (words.length !== 1) return undefined;
  const wordsRaw = shlex(rest, { escape: '\\', rawQuotes: true }).words;
  if (wordsRaw.length !== words.length) return undefined;
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return {
    name: words[0]!.text,
    expand: quotes(words[0]!.text) === quotes(wordsRaw[0]!.text),
    chomp: m[2] === '-',
    fd: m[1] === '' ? 0 : Number.parseInt(m[1]!, 10),
  };
}

/**
 * The heredocs a logical line opens, in order. `error` is set when a heredoc word is malformed
 * (BuildKit fails the parse); words the lexer cannot split at all open no heredoc, as in BuildKit.
 */
export function heredocsFromLine(line: string): { heredocs: HeredocWord[]; error?: string } {
  if (!line.includes('<<')) return { heredocs: [] };
  let words: { text: string; start: number; end: number }[];
  try {
    words = shlex(line, { escape: '\\', rawQuotes: true, rawEscapes: true }).words;
  } catch {
    return { heredocs: [] };
  }
  const heredocs: HeredocWord[] = [];
  for (const w of words) {
    try {
      const h = heredocFromWord(w.text);
      if (h) heredocs.push({ ...h, start: w.start, end: w.end });
    } catch (e) {
      if (e instanceof ShlexError) return { heredocs, error: e.message };
      throw e;
    }
  }
  return { heredocs };
}

/** `ChompHeredocContent`: leading tabs removed from every line. */
export function chompHeredocContent(src: string): string {
  // Go's (?m)^ starts a line after \n only, not after \r as JavaScript's does.
  return src.replace(/(^|\n)\t+/g, '$1');
}
