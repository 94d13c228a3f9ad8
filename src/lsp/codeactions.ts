/**
 * Quick fixes from the diagnostics' suggestions ("did you mean RUN?", "did you mean --chmod?"):
 * replace the flagged text with the suggestion (for a flag, only its name, keeping `=value`).
 */
import {
  type CodeAction,
  CodeActionKind,
  type Diagnostic as LspDiagnostic,
  type Range,
} from 'vscode-languageserver/node';
import type { Analysis } from './analysis.js';

export function quickFixes(a: Analysis, diagnostics: LspDiagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of diagnostics) {
    const suggestion = (d.data as { suggestion?: unknown } | undefined)?.suggestion;
    if (typeof suggestion !== 'string' || d.source !== 'rootc') continue;
    const start = a.lines.offset(d.range.start);
    const end = a.lines.offset(d.range.end);
    const text = a.text.slice(start, end);
    // `--chmood=644` → `--chmod=644`: keep what follows the flag's name.
    const eq = text.indexOf('=');
    const keep = suggestion.startsWith('--') && eq > 0 ? eq : text.length;
    const range: Range = a.lines.range(start, start + keep);
    out.push({
      title: `Change to ${suggestion}`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [d],
      isPreferred: true,
      edit: { changes: { [a.uri]: [{ range, newText: suggestion }] } },
    });
  }
  return out;
}
