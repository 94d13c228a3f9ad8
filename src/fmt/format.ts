/**
 * `rootc fmt`: canonical formatting from the AST, never changing what the builder receives.
 *
 * - keywords upper case, one space between keyword, flags and arguments; `AS` upper case;
 * - exec form as canonical JSON (`["a", "b"]`), on one line;
 * - words and KEY=VALUE pairs on one line, or, when the instruction was continued over several
 *   lines, one per continuation line indented by four spaces;
 * - shell-form commands (RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK CMD) keep their continuation lines as
 *   written (their whitespace is part of the command string), minus blank lines and trailing blanks;
 *   so do instructions with comment lines inside a continuation;
 * - heredoc bodies untouched; comments kept; directives first; at most one blank line in a row.
 *
 * Formatting a file with syntax errors is refused (the caller gets the diagnostics).
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { hasErrors } from '../diagnostics/diagnostic.js';
import type { Arg, EscapeChar, InstructionNode } from '../syntax/ast.js';
import { parseRootfile } from '../syntax/index.js';

export interface FormatResult {
  /** The formatted text, or undefined when the file has syntax errors. */
  output: string | undefined;
  diagnostics: Diagnostic[];
}

export function formatRootfile(text: string, file: string): FormatResult {
  const { ast, diagnostics } = parseRootfile(text, file);
  if (hasErrors(diagnostics)) return { output: undefined, diagnostics };
  const src = new Lines(text);
  const out: string[] = [];
  let blank = false;
  const emit = (s: string) => {
    if (blank && out.length > 0) out.push('');
    blank = false;
    out.push(s);
  };

  const directiveLines = new Set<number>();
  for (const d of ast.directives) {
    directiveLines.add(src.lineOf(d.range.start.offset));
    emit(`# ${d.name}=${d.value}`);
  }
  if (ast.directives.length > 0) blank = true;

  const starts = new Map<number, InstructionNode>();
  for (const i of ast.instructions) starts.set(src.lineOf(i.range.start.offset), i);

  for (let li = 0; li < src.count; li++) {
    const node = starts.get(li);
    if (node) {
      emit(formatInstruction(node, src, ast.escape));
      li = src.lineOf(node.range.end.offset);
      continue;
    }
    if (directiveLines.has(li)) continue;
    const line = src.line(li).replace(/^\ufeff/, '');
    const trimmed = line.trim();
    if (trimmed === '') {
      blank = true;
      continue;
    }
    // Comment lines (and anything else outside an instruction, verbatim).
    emit(trimmed.startsWith('#') ? trimmed : line.trimEnd());
  }
  // A comment that reads like a parser directive must not become one by moving to the top.
  if (ast.directives.length === 0 && out.length > 0 && /^#\s*(syntax|escape|check)\s*=/i.test(out[0]!)) {
    out.unshift('');
  }
  return { output: out.length === 0 ? '' : `${out.join('\n')}\n`, diagnostics };
}

/** Physical lines split on `\n` only, as BuildKit's scanner does. */
class Lines {
  readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
    if (this.starts[this.starts.length - 1] === text.length && text.length > 0) this.starts.pop();
  }
  get count(): number {
    return this.starts.length;
  }
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  /** A line without its `\n` and trailing `\r`s. */
  line(i: number): string {
    const s = this.starts[i]!;
    const e = i + 1 < this.starts.length ? this.starts[i + 1]! - 1 : this.text.length;
    return this.text.slice(s, e).replace(/[\r\n]+$/, '');
  }
}

const shellLike = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL']);

function formatInstruction(node: InstructionNode, src: Lines, esc: EscapeChar): string {
  const head = formatHead(node, src, esc);
  const bodies = heredocBodies(node, src);
  return bodies === undefined ? head : `${head}\n${bodies}`;
}

/** The heredoc bodies and terminators, verbatim. */
function heredocBodies(node: InstructionNode, src: Lines): string | undefined {
  const hd = node.inner?.heredocs.length ? node.inner.heredocs : node.heredocs;
  if (hd.length === 0) return undefined;
  const from = hd[0]!.bodyRange.start.offset;
  const to = node.range.end.offset;
  return src.text.slice(from, to);
}

/** Where the instruction line (and its continuations) ends: before the first heredoc body. */
function headEnd(node: InstructionNode): number {
  const hd = node.inner?.heredocs.length ? node.inner.heredocs : node.heredocs;
  if (hd.length === 0) return node.range.end.offset;
  return hd[0]!.bodyRange.start.offset;
}

function formatHead(node: InstructionNode, src: Lines, esc: EscapeChar): string {
  const end = headEnd(node);
  const parts = [node.keyword];
  const flags = node.flags.map((f) => f.raw);
  const firstLine = src.lineOf(node.range.start.offset);
  const multiline = src.lineOf(Math.max(node.range.start.offset, end - 1)) > firstLine;
  const hasInnerComments = multiline && hasCommentLines(src, firstLine + 1, src.lineOf(Math.max(0, end - 1)));

  if (node.inner) {
    return [node.keyword, ...flags, formatHead(node.inner, src, esc)].join(' ');
  }

  const tail = (a: Arg | undefined) => (a ? verbatimTail(src, a.range.start.offset, end, esc) : '');
  const join = (xs: string[]) => xs.filter((x) => x !== '').join(' ');
  const dashdash = (a: Arg | undefined) => (a && !node.json && a.raw.startsWith('--') ? ['--'] : []);
  const json = (args: Arg[]) => `[${args.map((a) => JSON.stringify(a.value)).join(', ')}]`;

  if (shellLike.has(node.keyword)) {
    if (node.json) return [...parts, ...flags, json(node.args)].join(' ');
    return join([...parts, ...flags, ...dashdash(node.args[0]), tail(node.args[0])]);
  }
  if (node.keyword === 'HEALTHCHECK') {
    if (node.args.length === 0) return [...parts, ...flags].join(' ');
    const typ = node.args[0]!.raw;
    if (node.args.length === 1) return [...parts, ...flags, typ].join(' ');
    if (node.json) return [...parts, ...flags, typ, json(node.args.slice(1))].join(' ');
    const tail = verbatimTail(src, node.args[1]!.range.start.offset, end, esc);
    return [...parts, ...flags, typ, tail].join(' ');
  }
  if (hasInnerComments || node.heredocs.length > 0) {
    const first = node.args[0] ?? node.pairs?.[0]?.key;
    return join([...parts, ...flags, ...dashdash(first), tail(first)]);
  }

  let words: string[];
  let lead: string[] = [];
  switch (node.keyword) {
    case 'ENV':
    case 'LABEL':
    case 'ANNOTATION':
    case 'ARG':
    case 'INCLUDE': {
      const pairs = node.pairs ?? [];
      if (pairs.length > 0 && pairs[0]!.legacy) {
        // Legacy `ENV name value`: the value is the rest of the line, spaces included.
        return [...parts, ...flags, pairs[0]!.key.raw, pairs[0]!.value?.raw ?? ''].join(' ').trimEnd();
      }
      if (node.keyword === 'INCLUDE' && node.args[0]) lead = [node.args[0].raw];
      words = pairs.map((p) => (p.value ? `${p.key.raw}=${p.value.raw}` : p.key.raw));
      break;
    }
    case 'FROM': {
      const f = node.from;
      if (f && f.kind !== 'image' && f.kind !== 'scratch') {
        // `FROM <kind> <source> [--flag…] [AS name]`
        words = [node.args[0]!.raw, f.source.raw, ...flags];
        if (f.stageName) words.push('AS', f.stageName.raw);
        return [...parts, ...words].join(' ');
      }
      words = node.args.map((a, i) => (i === 1 && /^as$/i.test(a.raw) ? 'AS' : a.raw));
      break;
    }
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      // The rest of the line as one string: keep it as joined.
      return [...parts, ...flags, ...node.args.map((a) => a.raw)].join(' ');
    default:
      if (node.json) return [...parts, ...flags, json(node.args)].join(' ');
      words = node.args.map((a) => a.raw);
  }
  const dd = dashdash(node.args[0]);
  const all = [...lead, ...words];
  // On continuation lines a word starting with `#` would be read as a comment line: keep one line.
  if (!multiline || all.length < 2 || all.some((w) => w.startsWith('#'))) {
    return [...parts, ...flags, ...dd, ...all].join(' ');
  }
  const first = [...parts, ...flags, ...dd, ...lead].join(' ');
  const rest = lead.length > 0 ? words : all;
  const headLine = lead.length > 0 ? first : [first, rest.shift()!].join(' ');
  return [
    `${headLine} ${esc}`,
    ...rest.map((w, i) => `    ${w}${i < rest.length - 1 ? ` ${esc}` : ''}`),
  ].join('\n');
}

/** Whether lines [from, to] hold a comment line. */
function hasCommentLines(src: Lines, from: number, to: number): boolean {
  for (let i = from; i <= to; i++) if (/^\s*#/.test(src.line(i))) return true;
  return false;
}

/**
 * The source from `from` to `to` as written, except: blank lines dropped (the parser drops them),
 * blanks after a continuation escape dropped (the parser strips them), trailing blanks of the last
 * line dropped (the parser trims them).
 */
function verbatimTail(src: Lines, from: number, to: number, esc: EscapeChar): string {
  const lines = src.text
    .slice(from, to)
    .split('\n')
    .map((l) => l.replace(/\r+$/, ''));
  while (lines.length > 1 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (i > 0 && l.trim() === '') return;
    const t = l.replace(/[ \t]+$/, '');
    if (i === lines.length - 1 || /^\s*#/.test(l)) out.push(i === lines.length - 1 ? l.trimEnd() : t);
    else if (t.endsWith(esc)) out.push(t);
    else out.push(l);
  });
  return out.join('\n');
}
