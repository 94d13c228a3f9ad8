import { readFileSync } from 'node:fs';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { renderDiagnostics } from '../diagnostics/render.js';

/** A bad command line: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Source texts already read by a command, so the renderer can show excerpts without re-reading. */
export const knownSources = new Map<string, string>();

function readSource(file: string): string | undefined {
  const known = knownSources.get(file);
  if (known !== undefined) return known;
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  if (diagnostics.length === 0) return;
  const color = process.stderr.isTTY === true && !process.env.NO_COLOR;
  process.stderr.write(`${renderDiagnostics(diagnostics, { source: readSource, color })}\n`);
}
