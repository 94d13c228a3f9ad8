/** Helpers so that a syntax test is a table row: input → what the builder receives / what is reported. */
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { type InstructionNode, parseRootfile } from '../../src/syntax/index.js';

/** `KEYWORD [flags] json? args…` of each instruction, compactly. */
export function shape(i: InstructionNode): unknown {
  const out: Record<string, unknown> = { k: i.keyword, args: i.args.map((a) => a.value) };
  if (i.flags.length > 0) out.flags = i.flags.map((f) => f.raw);
  if (i.json) out.json = true;
  if (i.heredocs.length > 0)
    out.heredocs = i.heredocs.map((h) => ({ name: h.name, content: h.content, expand: h.expand }));
  if (i.inner) out.inner = shape(i.inner);
  return out;
}

export function shapes(text: string): unknown[] {
  return parseRootfile(text, 'Rootfile').ast.instructions.map(shape);
}

/** `line:col: severity: message` of each diagnostic. */
export function messages(text: string): string[] {
  return parseRootfile(text, 'Rootfile').diagnostics.map(format);
}

export function format(d: Diagnostic): string {
  const p = d.location?.range.start;
  return `${p?.line}:${p?.column}: ${d.severity}: ${d.message}`;
}

/** The source text a range covers. */
export function covered(text: string, r: { start: { offset: number }; end: { offset: number } }): string {
  return text.slice(r.start.offset, r.end.offset);
}
