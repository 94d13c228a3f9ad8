import type { Diagnostic } from './diagnostic.js';
import { SourceText } from './source.js';

export interface RenderOptions {
  /** Returns the text of a file for the source excerpt, or undefined when not available. */
  source?: (file: string) => string | undefined;
  color?: boolean;
}

const cache = new WeakMap<object, Map<string, SourceText>>();

/**
 * Compiler-style rendering:
 *   Rootfile:12:5: error: unknown instruction "COPPY" (did you mean COPY?)
 *     12 | COPPY a b
 *        |     ^^^^^
 */
export function renderDiagnostic(d: Diagnostic, options: RenderOptions = {}): string {
  const paint = (code: string, s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const sev =
    d.severity === 'error'
      ? paint('1;31', 'error')
      : d.severity === 'warning'
        ? paint('1;33', 'warning')
        : paint('1;36', 'info');
  const where = d.location
    ? `${d.location.file}:${d.location.range.start.line}:${d.location.range.start.column}: `
    : 'rootc: ';
  const lines = [`${where}${sev}: ${d.message}`];
  if (d.location && options.source) {
    const excerpt = sourceExcerpt(d, options);
    if (excerpt) lines.push(excerpt);
  }
  for (const note of d.notes ?? []) {
    const nwhere = note.location
      ? `${note.location.file}:${note.location.range.start.line}:${note.location.range.start.column}: `
      : '';
    lines.push(`  ${nwhere}note: ${note.message}`);
  }
  return lines.join('\n');
}

function sourceExcerpt(d: Diagnostic, options: RenderOptions): string | undefined {
  const loc = d.location!;
  let files = cache.get(options);
  if (!files) {
    files = new Map();
    cache.set(options, files);
  }
  let src = files.get(loc.file);
  if (!src) {
    const text = options.source!(loc.file);
    if (text === undefined) return undefined;
    src = new SourceText(loc.file, text);
    files.set(loc.file, src);
  }
  const { start, end } = loc.range;
  const text = src.lineText(start.line).replace(/\t/g, ' ');
  const gutter = String(start.line);
  const pad = ' '.repeat(gutter.length);
  const width =
    end.line === start.line
      ? Math.max(1, end.column - start.column)
      : Math.max(1, text.length - start.column + 1);
  const caret = ' '.repeat(Math.max(0, start.column - 1)) + '^' + (width > 1 ? '~'.repeat(width - 1) : '');
  return `  ${gutter} | ${text}\n  ${pad} | ${options.color ? `\x1b[1;32m${caret}\x1b[0m` : caret}`;
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[], options: RenderOptions = {}): string {
  return diagnostics.map((d) => renderDiagnostic(d, options)).join('\n');
}
