/**
 * The syntax phase: Rootfile text → AST + diagnostics. Pure, never throws.
 *
 * Pass 1 (lines.ts) mirrors BuildKit's line handling and yields logical lines with a map back to
 * source offsets; pass 2 (lexer.ts, parser.ts: Chevrotain) parses them, and instructions.ts computes
 * each instruction's arguments with BuildKit's rules.
 */
import type { IToken } from 'chevrotain';
import { type Diagnostic, error as errorDiag } from '../diagnostics/diagnostic.js';
import type { InstructionNode, ParseResult, RootfileAst } from './ast.js';
import { SyntaxCodes } from './codes.js';
import { buildInstruction } from './instructions.js';
import { tokenize } from './lexer.js';
import { type LogicalLine, type RawDiagnostic, rangeToSource, splitLogicalLines } from './lines.js';
import { parseTokens } from './parser.js';
import { PositionIndex } from './positions.js';

export type * from './ast.js';
export { SyntaxCodes } from './codes.js';
export { chompHeredocContent } from './heredoc.js';
export { instructionNames } from './lexer.js';
export { ShlexError, shlex, unquote } from './shlex.js';
export { parseWords, splitWhitespace } from './words.js';

export function parseRootfile(text: string, file: string): ParseResult {
  const source = new PositionIndex(text);
  try {
    return parse(text, file, source);
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

function parse(text: string, file: string, source: PositionIndex): ParseResult {
  const pass1 = splitLogicalLines(text);
  const raw: RawDiagnostic[] = [...pass1.diagnostics];
  const instructions: InstructionNode[] = [];

  // Lex all logical lines at once, joined by newlines.
  const lines = pass1.lines;
  const bases: number[] = [];
  let joined = '';
  for (const l of lines) {
    bases.push(joined.length);
    joined += `${l.text}\n`;
  }
  const lexed = tokenize(joined, pass1.escape);
  // The lexer's patterns cover every character but `\n`-free words; report anything left anyway.
  for (const e of lexed.errors) {
    const at = locate(bases, e.offset);
    const l = lines[at]!;
    const [s, en] = rangeToSource(l, e.offset - bases[at]!, e.offset - bases[at]! + e.length);
    raw.push({
      severity: 'error',
      code: SyntaxCodes.invalidInstruction,
      message: e.message,
      start: s,
      end: en,
    });
  }
  const { instructions: parsed, errors } = parseTokens(lexed.tokens as IToken[]);
  for (const p of parsed) {
    const at = locate(bases, p.keyword.startOffset);
    const line = lines[at]!;
    instructions.push(
      buildInstruction(p, { line, base: bases[at]!, source, escape: pass1.escape, diagnostics: raw }),
    );
  }
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
    raw.push({
      severity: 'error',
      code: SyntaxCodes.invalidInstruction,
      message: friendly(e.message, t),
      start: s,
      end: en,
    });
  }
  for (const l of lines) {
    if (l.text.trim() === '' && l.text.length === 0) {
      raw.push({
        severity: 'error',
        code: SyntaxCodes.missingArgument,
        message: 'a line continuation with no instruction',
        start: l.start,
        end: l.end,
      });
    }
  }

  if (lines.length === 0) {
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
    comments: pass1.comments.map((c) => ({ text: c.text, range: source.range(c.start, c.end) })),
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

/** Index of the logical line containing a lexed-text offset. */
function locate(bases: number[], offset: number): number {
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
