/**
 * Pass 1: source text → logical lines, mirroring BuildKit's `parser.Parse` line by line: BOM, parser
 * directives, the escape token, comment lines, line continuations (comment and blank lines inside
 * one dropped), heredoc bodies. Each logical line keeps a map back to source offsets.
 */
import type { EscapeChar } from './ast.js';
import { SyntaxCodes } from './codes.js';
import { chompHeredocContent, type HeredocWord, heredocInstructions, heredocsFromLine } from './heredoc.js';
import { parseJson } from './json.js';
import { isSpace, trimSpace } from './unicode.js';
import { splitCommand } from './words.js';

/** `length` characters of the logical line from `logical` come from the source at `source`. */
export interface Segment {
  logical: number;
  source: number;
  length: number;
}

export interface RawHeredoc {
  word: HeredocWord;
  /** The body as read (line endings kept), `<<-` tabs not yet stripped. */
  rawContent: string;
  /** The body as the builder uses it (tabs stripped for `<<-`). */
  content: string;
  bodyStart: number;
  /** End of the terminator line's content (or of the file when unterminated). */
  bodyEnd: number;
  terminated: boolean;
}

export interface LogicalLine {
  text: string;
  segments: Segment[];
  /** Source offset where the instruction text starts. */
  start: number;
  /** Source offset just past the instruction's last character (last continuation line or heredoc terminator). */
  end: number;
  /** End of the instruction line itself (without heredoc bodies). */
  lineEnd: number;
  comments: string[];
  heredocs: RawHeredoc[];
}

export interface RawDiagnostic {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  start: number;
  end: number;
  suggestion?: string;
}

export interface RawDirective {
  name: string;
  value: string;
  start: number;
  end: number;
}

export interface RawComment {
  text: string;
  start: number;
  end: number;
}

export interface LinesResult {
  lines: LogicalLine[];
  directives: RawDirective[];
  escape: EscapeChar;
  comments: RawComment[];
  diagnostics: RawDiagnostic[];
}

const directiveRe = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/s;
const validDirectives = new Set(['syntax', 'escape', 'check']);

/** Maps an offset in a logical line to a source offset. */
export function toSource(line: LogicalLine, offset: number): number {
  const segs = line.segments;
  if (segs.length === 0) return line.start;
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segs[mid]!.logical <= offset) lo = mid;
    else hi = mid - 1;
  }
  const s = segs[lo]!;
  return s.source + Math.min(offset - s.logical, s.length);
}

/** Maps a half-open logical range to a half-open source range. */
export function rangeToSource(line: LogicalLine, start: number, end: number): [number, number] {
  const s = toSource(line, start);
  if (end <= start) return [s, s];
  return [s, toSource(line, end - 1) + 1];
}

export function splitLogicalLines(text: string): LinesResult {
  const lines: LogicalLine[] = [];
  const rest = scanLogicalLines(text, (line) => {
    lines.push(line);
    return true;
  });
  return { lines, ...rest };
}

/**
 * `splitLogicalLines`, handing each logical line to `onLine` as soon as it is complete (with the
 * escape token, final by then), so a caller can process it and let it go; `onLine` returns false to
 * stop the scan.
 */
export function scanLogicalLines(
  text: string,
  onLine: (line: LogicalLine, esc: EscapeChar) => boolean,
): Omit<LinesResult, 'lines'> {
  const diagnostics: RawDiagnostic[] = [];
  const directives: RawDirective[] = [];
  const comments: RawComment[] = [];

  const { starts, ends, nexts } = physicalLines(text);
  const n = starts.length;

  let escapeToken: EscapeChar = '\\';
  let directivesDone = false;
  const seen = new Set<string>();

  const directiveLine = (s: number, e: number) => {
    if (directivesDone) return;
    if (text.charCodeAt(s) !== 0x23 /* # */) {
      directivesDone = true;
      return;
    }
    let b = s + 1;
    while (b < e && isSpace(text.charCodeAt(b))) b++;
    const m = directiveRe.exec(text.slice(b, e));
    if (!m || !validDirectives.has(m[1]!.toLowerCase())) {
      directivesDone = true;
      return;
    }
    const name = m[1]!.toLowerCase();
    if (seen.has(name)) {
      diagnostics.push({
        severity: 'error',
        code: SyntaxCodes.invalidDirective,
        message: `only one ${name} parser directive can be used`,
        start: s,
        end: e,
      });
      return;
    }
    seen.add(name);
    const value = m[2]!;
    directives.push({ name, value, start: s, end: e });
    if (name === 'escape') {
      if (value === '\\' || value === '`') escapeToken = value;
      else
        diagnostics.push({
          severity: 'error',
          code: SyntaxCodes.invalidDirective,
          message: `invalid escape token '${value}' does not match \` or \\`,
          start: s,
          end: e,
        });
    }
  };

  // Whether [s, e) (already without newline) ends with a continuation escape; returns the new end.
  const continuation = (s: number, e: number): number | undefined => {
    let k = e;
    while (k > s && (text.charCodeAt(k - 1) === 0x20 || text.charCodeAt(k - 1) === 0x09)) k--;
    if (k === s || text[k - 1] !== escapeToken) return undefined;
    // `([^E])E[ \t]*$|^E[ \t]*$`
    if (k - 1 === s) return k - 1;
    if (text[k - 2] !== escapeToken) return k - 1;
    return undefined;
  };

  const isCommentAt = (s: number, e: number) => {
    let b = s;
    while (b < e && isSpace(text.charCodeAt(b))) b++;
    return b < e && text.charCodeAt(b) === 0x23;
  };

  let pending: string[] = [];
  let i = 0;
  while (i < n) {
    let s = starts[i]!;
    const e = ends[i]!;
    if (i === 0 && text.charCodeAt(0) === 0xfeff) s += 1;
    // Leading whitespace of an instruction's first line is not part of it.
    let b = s;
    while (b < e && isSpace(text.charCodeAt(b))) b++;
    if (b < e && text.charCodeAt(b) === 0x23) {
      const body = trimSpace(text.slice(b + 1, e));
      const before = directives.length;
      directiveLine(b, e);
      // Directive lines are not comments (nor is a rejected duplicate directive).
      if (directives.length === before && !(diagnostics.at(-1)?.start === b)) {
        comments.push({ text: body, start: b, end: e });
        pending.push(body);
      }
      i++;
      continue;
    }
    directiveLine(b, e);
    i++;
    const segments: Segment[] = [];
    const cut = continuation(b, e);
    let logical = addSegment(segments, '', text, b, cut ?? e);
    let lineEnd = e;
    let ended = cut === undefined;
    if (ended && logical === '') continue;
    let emptyAt: number | undefined;
    while (!ended && i < n) {
      const cs = starts[i]!;
      const ce = ends[i]!;
      i++;
      lineEnd = ce;
      if (isCommentAt(cs, ce)) {
        let cb = cs;
        while (isSpace(text.charCodeAt(cb))) cb++;
        comments.push({ text: trimSpace(text.slice(cb + 1, ce)), start: cb, end: ce });
        continue;
      }
      let allSpace = true;
      for (let k = cs; k < ce; k++) {
        if (!isSpace(text.charCodeAt(k))) {
          allSpace = false;
          break;
        }
      }
      if (allSpace) {
        emptyAt ??= cs;
        continue;
      }
      const ccut = continuation(cs, ce);
      if (ccut === undefined) {
        logical = addSegment(segments, logical, text, cs, ce);
        ended = true;
      } else logical = addSegment(segments, logical, text, cs, ccut);
    }
    if (emptyAt !== undefined) {
      diagnostics.push({
        severity: 'warning',
        code: SyntaxCodes.emptyContinuation,
        message: 'empty continuation line (empty continuation lines will become errors in a future release)',
        start: emptyAt,
        end: emptyAt,
      });
    }
    const line: LogicalLine = {
      text: logical,
      segments,
      start: b,
      end: lineEnd,
      lineEnd,
      comments: pending,
      heredocs: [],
    };
    pending = [];

    // Heredoc bodies: a function of their own, so the optimizing compiler need not compile them
    // into this loop (most lines have none).
    if (canContainHeredoc(logical)) i = readHeredocs(text, line, i, { starts, ends, nexts }, diagnostics);
    if (!onLine(line, escapeToken)) break;
  }
  return { directives, escape: escapeToken, comments, diagnostics };
}

/**
 * Physical lines: [start, contentEnd) without the trailing \r\n run, next = start of next line.
 * A function of its own: its loop is hot enough to be compiled on its own (on-stack replacement),
 * and inside scanLogicalLines that compilation took the whole scan along and was thrown away
 * when the loop ended.
 */
function physicalLines(text: string): { starts: number[]; ends: number[]; nexts: number[] } {
  const starts: number[] = [];
  const ends: number[] = [];
  const nexts: number[] = [];
  let p = 0;
  while (p < text.length) {
    const nl = text.indexOf('\n', p);
    const next = nl < 0 ? text.length : nl + 1;
    let e = nl < 0 ? text.length : nl;
    while (e > p && (text.charCodeAt(e - 1) === 13 || text.charCodeAt(e - 1) === 10)) e--;
    starts.push(p);
    ends.push(e);
    nexts.push(next);
    p = next;
  }
  return { starts, ends, nexts };
}

/** `logical` with the source's [from, to) appended, recorded in `segments`. */
function addSegment(segments: Segment[], logical: string, text: string, from: number, to: number): string {
  if (to <= from) return logical;
  segments.push({ logical: logical.length, source: from, length: to - from });
  return logical + text.slice(from, to);
}

/**
 * The heredoc bodies of `line` (an instruction that can have them), read from physical line `i` on:
 * each body up to its terminator, recorded on the line. Returns the physical line after the last body.
 */
function readHeredocs(
  text: string,
  line: LogicalLine,
  i: number,
  lines: { starts: number[]; ends: number[]; nexts: number[] },
  diagnostics: RawDiagnostic[],
): number {
  const n = lines.starts.length;
  const logical = line.text;
  const found = heredocsFromLine(logical);
  if (found.error !== undefined) {
    diagnostics.push({
      severity: 'error',
      code: SyntaxCodes.invalidHeredoc,
      message: found.error,
      start: line.start,
      end: line.lineEnd,
    });
  }
  for (const word of found.heredocs) {
    const bodyStart = i < n ? lines.starts[i]! : text.length;
    let rawContent = '';
    let terminated = false;
    let bodyEnd = text.length;
    while (i < n) {
      const hs = lines.starts[i]!;
      const he = lines.ends[i]!;
      i++;
      let t = hs;
      if (word.chomp) while (t < he && text.charCodeAt(t) === 0x09) t++;
      if (text.slice(t, he) === word.name) {
        terminated = true;
        bodyEnd = he;
        break;
      }
      rawContent += text.slice(hs, lines.nexts[i - 1]!);
    }
    const [ws, we] = rangeToSource(line, word.start, word.end);
    line.heredocs.push({
      word: { ...word, start: word.start, end: word.end },
      rawContent,
      content: word.chomp ? chompHeredocContent(rawContent) : rawContent,
      bodyStart,
      bodyEnd,
      terminated,
    });
    line.end = bodyEnd;
    if (!terminated) {
      diagnostics.push({
        severity: 'error',
        code: SyntaxCodes.unterminatedHeredoc,
        message: `unterminated heredoc: no line "${word.name}" ends it`,
        start: ws,
        end: we,
      });
      break;
    }
  }
  return i;
}

/** BuildKit's `Node.canContainHeredoc`: RUN/COPY/ADD in shell form, also behind ONBUILD. */
function canContainHeredoc(line: string): boolean {
  if (!line.includes('<<')) return false;
  let { cmd, args } = splitCommand(line);
  if (cmd.text.toLowerCase() === 'onbuild') {
    if (args.text === '') return false;
    ({ cmd, args } = splitCommand(args.text));
  }
  if (!heredocInstructions.has(cmd.text.toLowerCase())) return false;
  return parseJson(args.text).kind === 'not-json';
}
