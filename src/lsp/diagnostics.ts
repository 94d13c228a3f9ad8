/**
 * rootc diagnostics → LSP diagnostics. Those located in an INCLUDEd fragment are shown on the
 * INCLUDE line that brought them in (with their own file:line:col in the message).
 */
import { DiagnosticSeverity, type Diagnostic as LspDiagnostic } from 'vscode-languageserver/node';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { Analysis } from './analysis.js';

const SEVERITY = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
} as const;

export function toLspDiagnostics(a: Analysis): LspDiagnostic[] {
  return a.diagnostics.map((d) => toLsp(a, d));
}

function toLsp(a: Analysis, d: Diagnostic): LspDiagnostic {
  let range = a.lines.range(0, 0);
  let message = d.message;
  if (d.location && d.location.file === a.file) {
    range = a.lines.range(d.location.range.start.offset, d.location.range.end.offset);
  } else if (d.location) {
    const { file, range: r } = d.location;
    message = `${file}:${r.start.line}:${r.start.column}: ${message}`;
    // Lowering notes where the fragment was included from; else guess from the INCLUDE targets.
    const from = d.notes?.find((n) => n.location?.file === a.file)?.location?.range;
    const inc = from ? { start: from.start.offset, end: from.end.offset } : includeFor(a, file);
    if (inc) range = a.lines.range(inc.start, inc.end);
  }
  return {
    range,
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'rootc',
    message,
    ...(d.suggestion ? { data: { suggestion: d.suggestion } } : {}),
  };
}

/** The INCLUDE instruction whose target is the file a diagnostic points into (best effort). */
function includeFor(a: Analysis, file: string): { start: number; end: number } | undefined {
  for (const ins of a.ast.instructions) {
    const target = ins.keyword === 'INCLUDE' ? ins.args[0] : undefined;
    if (!target) continue;
    const stem = target.value.replace(/^\.\//, '');
    if (file.endsWith(`/${stem}.rootfile`) || file.endsWith(stem))
      return { start: ins.keywordRange.start.offset, end: target.range.end.offset };
  }
  return undefined;
}
