/**
 * One open document, analysed once per version: the text, its line index, its parse, and (on first
 * use) what `rootc check` computes for it (the same `compileText`: parse + lower, INCLUDEs read
 * relative to the file, the parse above reused). Every language feature reads this snapshot, so a
 * request never re-parses unless the text changed, and completion never waits for lowering.
 */
import { fileURLToPath } from 'node:url';
import { compileText } from '../cli/compile.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Arg, InstructionNode, ParseResult, RootfileAst } from '../syntax/ast.js';
import { parseRootfile } from '../syntax/index.js';

export interface Position {
  line: number;
  character: number;
}

/** Offsets ↔ LSP positions (0-based lines, UTF-16 columns; `\r\n`, `\n` and `\r` end lines). */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13 && text.charCodeAt(i + 1) !== 10) this.starts.push(i + 1);
    }
  }
  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.starts[lo]! };
  }
  offset(p: Position): number {
    if (p.line >= this.starts.length) return this.text.length;
    const start = this.starts[Math.max(0, p.line)]!;
    const next = this.starts[p.line + 1] ?? this.text.length;
    return Math.min(start + Math.max(0, p.character), next);
  }
  lineStart(line: number): number {
    return this.starts[Math.max(0, Math.min(line, this.starts.length - 1))]!;
  }
  range(start: number, end: number): { start: Position; end: Position } {
    return { start: this.position(start), end: this.position(end) };
  }
}

/** A stage: its FROM, its `AS` name and its instructions, from the FROM to the next one. */
export interface StageInfo {
  index: number;
  from: InstructionNode;
  name: Arg | undefined;
  instructions: InstructionNode[];
  start: number;
  end: number;
}

export interface Analysis {
  uri: string;
  version: number;
  /** The file path (or the URI for unsaved buffers): the name in diagnostics, the base of INCLUDEs. */
  file: string;
  text: string;
  lines: LineIndex;
  ast: RootfileAst;
  /** Exactly what `rootc check` reports for this text (computed on first use). */
  readonly diagnostics: Diagnostic[];
  /** Instructions before the first FROM (global ARGs). */
  globals: InstructionNode[];
  stages: StageInfo[];
}

export function fileOfUri(uri: string): string {
  return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
}

export function analyze(uri: string, version: number, text: string): Analysis {
  const file = fileOfUri(uri);
  const parsed = parseRootfile(text, file);
  const ast = parsed.ast;
  // Lowering's parser: this parse for this file, rootc's parser for INCLUDEd fragments.
  const parse = (t: string, f: string): ParseResult =>
    f === file && t === text ? parsed : parseRootfile(t, f);
  let diagnostics: Diagnostic[] | undefined;
  const globals: InstructionNode[] = [];
  const stages: StageInfo[] = [];
  for (const ins of ast.instructions) {
    if (ins.keyword === 'FROM') {
      const last = stages[stages.length - 1];
      if (last) last.end = ins.range.start.offset;
      stages.push({
        index: stages.length,
        from: ins,
        name: ins.from?.stageName,
        instructions: [],
        start: ins.range.start.offset,
        end: text.length,
      });
    } else if (stages.length === 0) globals.push(ins);
    else stages[stages.length - 1]!.instructions.push(ins);
  }
  return {
    uri,
    version,
    file,
    text,
    lines: new LineIndex(text),
    ast,
    get diagnostics() {
      diagnostics ??= compileText(file, text, { parse }).diagnostics;
      return diagnostics;
    },
    globals,
    stages,
  };
}

/** The stage whose lines contain an offset (undefined before the first FROM). */
export function stageAt(a: Analysis, offset: number): StageInfo | undefined {
  for (let i = a.stages.length - 1; i >= 0; i--) if (a.stages[i]!.start <= offset) return a.stages[i];
  return undefined;
}

/** The instruction whose range contains an offset (its end included, for a cursor at the end). */
export function instructionAt(a: Analysis, offset: number): InstructionNode | undefined {
  for (const ins of a.ast.instructions) {
    if (ins.range.start.offset <= offset && offset <= ins.range.end.offset) return ins;
    if (ins.range.start.offset > offset) break;
  }
  return undefined;
}

/** Stage names declared in the file, in order. */
export function stageNames(a: Analysis): { name: string; arg: Arg; stage: StageInfo }[] {
  return a.stages.flatMap((s) =>
    s.name ? [{ name: s.name.value.toLowerCase(), arg: s.name, stage: s }] : [],
  );
}

export function contains(
  arg: { range: { start: { offset: number }; end: { offset: number } } },
  offset: number,
) {
  return arg.range.start.offset <= offset && offset <= arg.range.end.offset;
}

/** Caches one analysis per document version. */
export class AnalysisCache {
  private readonly byUri = new Map<string, Analysis>();
  get(uri: string, version: number, text: () => string): Analysis {
    const hit = this.byUri.get(uri);
    if (hit && hit.version === version) return hit;
    const a = analyze(uri, version, text());
    this.byUri.set(uri, a);
    return a;
  }
  delete(uri: string): void {
    this.byUri.delete(uri);
  }
}
