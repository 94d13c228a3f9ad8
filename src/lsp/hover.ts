/**
 * Hover: an instruction's section of docs/rootfile.md; a variable's value at that point (Docker's
 * scoping, see scope.ts); a stage's FROM line.
 */
import { type Hover, MarkupKind } from 'vscode-languageserver/node';
import { type Analysis, stageNames } from './analysis.js';
import { loadInstructionDocs } from './docs.js';
import { variablesAt } from './scope.js';
import { targetAt } from './target.js';

export function hover(a: Analysis, offset: number): Hover | null {
  const t = targetAt(a, offset);
  if (!t) return null;
  let value: string | undefined;
  switch (t.kind) {
    case 'keyword':
      value = loadInstructionDocs().get(t.keyword);
      break;
    case 'variable': {
      const v = variablesAt(a, offset).get(t.name);
      value = v
        ? `\`${t.name}\` (${v.kind === 'predefined' ? 'predefined ARG' : v.kind})${
            v.value === undefined ? ': no value here (set it with --build-arg)' : ` = \`${v.value}\``
          }`
        : `\`${t.name}\`: not declared by an ARG or ENV before this point`;
      break;
    }
    case 'declaration': {
      // The value right after the declaring instruction.
      const v = variablesAt(a, t.ins.range.end.offset + 1).get(t.name);
      value = `\`${t.name}\` (${t.ins.keyword})${v?.value === undefined ? ': no default' : ` = \`${v.value}\``}`;
      break;
    }
    case 'stage': {
      const s = stageNames(a).find((x) => x.name === t.name);
      value = s ? `stage ${s.stage.index}: \`${s.stage.from.original}\`` : undefined;
      break;
    }
    case 'include':
      value = `INCLUDE \`${t.target}\``;
      break;
  }
  if (value === undefined) return null;
  return { contents: { kind: MarkupKind.Markdown, value }, range: a.lines.range(t.start, t.end) };
}
