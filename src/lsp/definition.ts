/**
 * Go to definition: a stage name to its `AS name`; a variable to the ARG or ENV that set it (the
 * one in effect at that point); an INCLUDE target to the fragment file.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Location } from 'vscode-languageserver/node';
import { type Analysis, stageNames } from './analysis.js';
import { includePath } from './include.js';
import { variablesAt } from './scope.js';
import { targetAt } from './target.js';

export function definition(a: Analysis, offset: number): Location | null {
  const t = targetAt(a, offset);
  if (!t) return null;
  const here = (r: { start: { offset: number }; end: { offset: number } }): Location => ({
    uri: a.uri,
    range: a.lines.range(r.start.offset, r.end.offset),
  });
  switch (t.kind) {
    case 'stage': {
      const s = stageNames(a).find((x) => x.name === t.name);
      return s ? here(s.arg.range) : null;
    }
    case 'variable': {
      const decl = variablesAt(a, offset).get(t.name)?.decl;
      return decl ? here(decl.range) : null;
    }
    case 'include': {
      const path = includePath(a, t.target);
      if (!existsSync(path)) return null;
      const zero = { line: 0, character: 0 };
      return { uri: pathToFileURL(path).href, range: { start: zero, end: zero } };
    }
    default:
      return null;
  }
}
