/**
 * The syntax phase: Rootfile text → AST + diagnostics. Pure, never throws.
 *
 * Pass 1 (lines.ts) mirrors BuildKit's line handling and yields logical lines with a map back to
 * source offsets; pass 2 (lexer.ts, parser.ts: Chevrotain) parses them, and instructions.ts computes
 * each instruction's arguments with BuildKit's rules. Files whose lines all have the common shapes
 * take a hand-written fast path to the same parse (fast.ts) instead of Chevrotain.
 */
import type { IToken } from 'chevrotain';
import { type Diagnostic, error as errorDiag } from '../diagnostics/diagnostic.js';
import type { EscapeChar, InstructionNode, ParseResult, RootfileAst } from './ast.js';
import { SyntaxCodes } from './codes.js';
import { parseFastLine } from './fast.js';
import { type BuildContext, buildInstruction } from './instructions.js';
import { tokenize } from './lexer.js';
import {
  type LinesResult,
  type LogicalLine,
  type RawDiagnostic,
  rangeToSource,
  scanLogicalLines,
  splitLogicalLines,
} from './lines.js';
import { CommentLine } from './nodes.js';
import { type ParsedInstruction, parseTokens } from './parser.js';
import { PositionIndex } from './positions.js';

export type * from './ast.js';
export { SyntaxCodes } from './codes.js';
export { chompHeredocContent } from './heredoc.js';
export { instructionNames } from './keywords.js';
export { ShlexError, shlex, unquote } from './shlex.js';
export { parseWords, splitWhitespace } from './words.js';

export function parseRootfile(text: string, file: string): ParseResult {
  return parseRootfileVia(text, file, 'auto')!;
}

/**
 * `parseRootfile` through a chosen pass 2: `auto` (the fast path when it applies, else Chevrotain),
 * or one of them only (for the tests that hold the two to the same result); `fast` gives undefined
 * when the fast path does not apply.
 */
export function parseRootfileVia(
  text: string,
  file: string,
  via: 'auto' | 'fast' | 'chevrotain',
): ParseResult | undefined {
  const source = new PositionIndex(text);
  try {
    return parse(text, file, source, via);
  } catch (e) {
    // A bug in the parser must not take the caller down: report it as a diagnostic.
    const message = e instanceof Error ? e.message : String(e);
    return {
      ast: { file, directives: [], escape: '\\', instructions: [], comments: [] },
      diagnostics: [
        errorDiag(SyntaxCodes.internalError, `internal parser error: ${message}`, {
          file,
          range: source.range(0, 0),
        }),
      ],
    };
  }
}

function parse(
  text: string,
  file: string,
  source: PositionIndex,
  via: 'auto' | 'fast' | 'chevrotain',
): ParseResult | undefined {
  const instructions: InstructionNode[] = [];
  // In file order: pass 1's, the lexer's, the instructions', the parser's, empty continuations'.
  const lexErrors: RawDiagnostic[] = [];
  const built: RawDiagnostic[] = [];
  let parseErrors: RawDiagnostic[] = [];
  const empty: RawDiagnostic[] = [];
  let count = 0;
  const emptyLine = (l: LogicalLine) => {
    count++;
    if (l.text.length === 0) {
      empty.push({
        severity: 'error',
        code: SyntaxCodes.missingArgument,
        message: 'a line continuation with no instruction',
        start: l.start,
        end: l.end,
      });
    }
  };
  // Offsets are those of the logical lines joined by newlines (what Chevrotain lexes).
  let length = 0;
  let bailed = false;
  let pass1: Omit<LinesResult, 'lines'>;
  if (via !== 'chevrotain') {
    // The fast path, line by line as pass 1 finds them: a line and its tokens are garbage as soon as
    // its instruction is built.
    // One context for every line (buildInstruction keeps none of it).
    const cx: BuildContext = {
      line: undefined as unknown as LogicalLine,
      base: 0,
      source,
      escape: '\\',
      diagnostics: built,
    };
    pass1 = scanLogicalLines(text, (line, esc) => {
      const p = parseFastLine(line.text, length, esc);
      if (p === undefined) {
        bailed = true;
        return false;
      }
      if (p !== null) {
        cx.line = line;
        cx.base = length;
        cx.escape = esc;
        instructions.push(buildInstruction(p, cx));
      }
      length += line.text.length + 1;
      emptyLine(line);
      return true;
    });
    if (bailed) return via === 'fast' ? undefined : parse(text, file, source, 'chevrotain');
  } else {
    const all = splitLogicalLines(text);
    pass1 = all;
    const lines = all.lines;
    const bases: number[] = new Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      bases[i] = length;
      length += lines[i]!.text.length + 1;
    }
    const chev = parseChevrotain(lines, bases, all.escape);
    lexErrors.push(...chev.lexErrors);
    parseErrors = chev.parseErrors;
    for (const p of chev.instructions) {
      const at = locate(bases, p.keyword.startOffset);
      const cx = { line: lines[at]!, base: bases[at]!, source, escape: all.escape, diagnostics: built };
      instructions.push(buildInstruction(p, cx));
    }
    for (const l of lines) emptyLine(l);
  }
  const raw = pass1.diagnostics.concat(lexErrors, built, parseErrors, empty);
  if (count === 0) {
    raw.push({
      severity: 'error',
      code: SyntaxCodes.noInstructions,
      message: 'file with no instructions',
      start: text.length,
      end: text.length,
    });
  }

  const ast: RootfileAst = {
    file,
    directives: pass1.directives.map((d) => ({
      name: d.name,
      value: d.value,
      range: source.range(d.start, d.end),
    })),
    escape: pass1.escape,
    instructions,
    comments: pass1.comments.map((c) => new CommentLine(c.text, source, c.start, Math.max(c.start, c.end))),
  };
  const diagnostics: Diagnostic[] = raw
    .sort((a, b) => a.start - b.start || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1))
    .map((d) => ({
      severity: d.severity,
      code: d.code,
      message: d.message,
      location: { file, range: source.range(d.start, d.end) },
      ...(d.suggestion ? { suggestion: d.suggestion } : {}),
    }));
  return { ast, diagnostics };
}

/** Pass 2 through Chevrotain: the logical lines lexed together, joined by newlines, and parsed. */
function parseChevrotain(
  lines: readonly LogicalLine[],
  bases: readonly number[],
  esc: EscapeChar,
): { instructions: ParsedInstruction[]; lexErrors: RawDiagnostic[]; parseErrors: RawDiagnostic[] } {
  const lexErrors: RawDiagnostic[] = [];
  const parseErrors: RawDiagnostic[] = [];
  let joined = '';
  for (const l of lines) joined += `${l.text}\n`;
  const lexed = tokenize(joined, esc);
  // The lexer's patterns cover every character but `\n`-free words; report anything left anyway.
  for (const e of lexed.errors) {
    const at = locate(bases, e.offset);
    const l = lines[at]!;
    const [s, en] = rangeToSource(l, e.offset - bases[at]!, e.offset - bases[at]! + e.length);
    lexErrors.push({
      severity: 'error',
      code: SyntaxCodes.invalidInstruction,
      message: e.message,
      start: s,
      end: en,
    });
  }
  const { instructions, errors } = parseTokens(lexed.tokens as IToken[]);
  for (const e of errors) {
    const t = e.token;
    let offset = Number.isFinite(t.startOffset)
      ? t.startOffset
      : ('previousToken' in e && (e as { previousToken?: IToken }).previousToken?.startOffset) || 0;
    if (t.tokenType?.name === 'EOF' || !Number.isFinite(offset)) offset = Math.max(0, joined.length - 1);
    const at = locate(bases, offset);
    const l = lines[at];
    if (!l) continue;
    const rel = offset - bases[at]!;
    const [s, en] = rangeToSource(
      l,
      rel,
      rel + Math.max(1, Number.isFinite(t.startOffset) ? t.image.length : 0),
    );
    parseErrors.push({
      severity: 'error',
      code: SyntaxCodes.invalidInstruction,
      message: friendly(e.message, t),
      start: s,
      end: en,
    });
  }
  return { instructions, lexErrors, parseErrors };
}

/** Index of the logical line containing a lexed-text offset. */
function locate(bases: readonly number[], offset: number): number {
  let lo = 0;
  let hi = bases.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bases[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function friendly(message: string, t: IToken): string {
  if (t.tokenType?.name === 'Newline' || t.tokenType?.name === 'EOF') {
    return message.replace(/but found: .*$/s, 'but found the end of the line');
  }
  return message;
}

export type { LogicalLine };
