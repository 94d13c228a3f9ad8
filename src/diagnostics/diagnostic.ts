/**
 * One diagnostic type for the whole program (esbuild's model): every phase reports through it,
 * the CLI and the language server render it. Library code never prints.
 */

export type Severity = 'error' | 'warning' | 'info';

/** A point in a source file. `line` and `column` are 1-based; `offset` is 0-based in UTF-16 units. */
export interface SourcePosition {
  offset: number;
  line: number;
  column: number;
}

/** Half-open range [start, end). */
export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

export interface SourceLocation {
  file: string;
  range: SourceRange;
}

export interface DiagnosticNote {
  message: string;
  location?: SourceLocation;
}

export interface Diagnostic {
  severity: Severity;
  /** Stable identifier, `phase/kebab-name`, e.g. `syntax/unknown-instruction`. */
  code: string;
  message: string;
  location?: SourceLocation;
  /** Replacement text the user probably meant (shown as "did you mean …"), also used by editor quick fixes. */
  suggestion?: string;
  notes?: DiagnosticNote[];
}

export function error(
  code: string,
  message: string,
  location?: SourceLocation,
  extra?: Partial<Diagnostic>,
): Diagnostic {
  return { severity: 'error', code, message, ...(location ? { location } : {}), ...extra };
}

export function warning(
  code: string,
  message: string,
  location?: SourceLocation,
  extra?: Partial<Diagnostic>,
): Diagnostic {
  return { severity: 'warning', code, message, ...(location ? { location } : {}), ...extra };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/**
 * Thrown by I/O phases (build, sources, writers) when they must stop; carries diagnostics so the CLI
 * renders them like any other. Pure phases return diagnostics instead of throwing.
 */
export class DiagnosticError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic | Diagnostic[]) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map((d) => d.message).join('; '));
    this.name = 'DiagnosticError';
    this.diagnostics = list;
  }
}

/** Sort by file, then position; stable for diagnostics without a location (they go first). */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => {
    const fa = a.location?.file ?? '';
    const fb = b.location?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.location?.range.start.offset ?? -1) - (b.location?.range.start.offset ?? -1);
  });
}
