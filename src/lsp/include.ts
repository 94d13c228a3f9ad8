/**
 * INCLUDE targets in the editor: where the fragment is (lowering's own resolution: a bare name is a
 * stdlib fragment, anything else a path relative to the including file) and which ARGs it takes.
 */
import { readFileSync } from 'node:fs';
import { STDLIB_DIR } from '../cli/compile.js';
import { resolveInclude } from '../lower/include.js';
import { parseRootfile } from '../syntax/index.js';
import type { Analysis } from './analysis.js';

/** The file an INCLUDE target names. */
export function includePath(a: Analysis, target: string): string {
  return resolveInclude(target, { label: a.file, path: a.file }, STDLIB_DIR).path;
}

export interface IncludeParameter {
  name: string;
  /** The default as written, or undefined when the parameter is required. */
  value: string | undefined;
}

/** The ARGs a fragment declares (its parameters), or none if it cannot be read. */
export function includeParameters(a: Analysis, target: string): IncludeParameter[] {
  let text: string;
  const path = includePath(a, target);
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: IncludeParameter[] = [];
  for (const ins of parseRootfile(text, path).ast.instructions) {
    if (ins.keyword !== 'ARG') continue;
    for (const p of ins.pairs ?? []) out.push({ name: p.key.value, value: p.value?.raw });
  }
  return out;
}
