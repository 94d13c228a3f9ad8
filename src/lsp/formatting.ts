/** Formatting: `rootc fmt`'s own function; a file with syntax errors is left alone (no edits). */
import type { TextEdit } from 'vscode-languageserver/node';
import { formatRootfile } from '../fmt/format.js';
import type { Analysis } from './analysis.js';

export function formatDocument(a: Analysis): TextEdit[] {
  const { output } = formatRootfile(a.text, a.file);
  if (output === undefined || output === a.text) return [];
  return [{ range: a.lines.range(0, a.text.length), newText: output }];
}
