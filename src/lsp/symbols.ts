/** Document symbols: one per stage (named by `AS name`), its ARG and ENV declarations inside. */
import { type DocumentSymbol, SymbolKind } from 'vscode-languageserver/node';
import type { InstructionNode } from '../syntax/ast.js';
import type { Analysis } from './analysis.js';

export function documentSymbols(a: Analysis): DocumentSymbol[] {
  const out: DocumentSymbol[] = declarations(a, a.globals);
  for (const s of a.stages) {
    const sel = s.name?.range ?? s.from.keywordRange;
    let end = s.end;
    while (end > s.start && /\s/.test(a.text[end - 1]!)) end--;
    out.push({
      name: s.name?.value ?? `stage ${s.index}`,
      detail: s.from.original,
      kind: SymbolKind.Module,
      range: a.lines.range(s.start, Math.max(end, sel.end.offset)),
      selectionRange: a.lines.range(sel.start.offset, sel.end.offset),
      children: declarations(a, s.instructions),
    });
  }
  return out;
}

function declarations(a: Analysis, instructions: InstructionNode[]): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const ins of instructions) {
    if (ins.keyword !== 'ARG' && ins.keyword !== 'ENV') continue;
    for (const p of ins.pairs ?? []) {
      out.push({
        name: p.key.value,
        detail: ins.keyword,
        kind: ins.keyword === 'ARG' ? SymbolKind.Constant : SymbolKind.Variable,
        range: a.lines.range(ins.range.start.offset, ins.range.end.offset),
        selectionRange: a.lines.range(p.key.range.start.offset, p.key.range.end.offset),
      });
    }
  }
  return out;
}
