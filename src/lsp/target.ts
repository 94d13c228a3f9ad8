/**
 * What the cursor points at, for hover and go to definition: an instruction keyword, a variable
 * reference (`$NAME`, `${NAME…}`), a variable's declaration (ARG/ENV key), a stage name (`--from=`,
 * FROM's image, `AS name`) or an INCLUDE target.
 */
import type { Arg, InstructionNode } from '../syntax/ast.js';
import { type Analysis, contains, instructionAt, stageNames } from './analysis.js';

export type Target =
  | { kind: 'keyword'; keyword: string; start: number; end: number }
  | { kind: 'variable'; name: string; start: number; end: number }
  | { kind: 'declaration'; name: string; ins: InstructionNode; key: Arg; start: number; end: number }
  | { kind: 'stage'; name: string; start: number; end: number }
  | { kind: 'include'; target: string; start: number; end: number };

export function targetAt(a: Analysis, offset: number): Target | undefined {
  const outer = instructionAt(a, offset);
  if (!outer) return undefined;
  const ins = outer.inner ?? outer;
  for (const k of outer.inner ? [outer, outer.inner] : [outer]) {
    if (contains({ range: k.keywordRange }, offset))
      return { kind: 'keyword', keyword: k.keyword, ...span(k.keywordRange) };
  }
  const v = variableAt(a.text, offset);
  if (v) return v;
  for (const f of ins.flags) {
    if (f.name === 'from' && f.value !== undefined && contains(f, offset) && ins.keyword === 'COPY') {
      const end = f.range.end.offset;
      return { kind: 'stage', name: f.value.toLowerCase(), start: end - f.value.length, end };
    }
  }
  if (ins.keyword === 'FROM' && ins.from) {
    const { source, stageName } = ins.from;
    if (stageName && contains(stageName, offset))
      return { kind: 'stage', name: stageName.value.toLowerCase(), ...span(stageName.range) };
    if (ins.from.kind === 'image' && contains(source, offset)) {
      const name = source.value.toLowerCase();
      if (stageNames(a).some((s) => s.name === name)) return { kind: 'stage', name, ...span(source.range) };
    }
  }
  if (ins.keyword === 'INCLUDE' && ins.args[0] && contains(ins.args[0], offset))
    return { kind: 'include', target: ins.args[0].value, ...span(ins.args[0].range) };
  if (ins.keyword === 'ARG' || ins.keyword === 'ENV') {
    for (const p of ins.pairs ?? []) {
      if (contains(p.key, offset))
        return { kind: 'declaration', name: p.key.value, ins, key: p.key, ...span(p.key.range) };
    }
  }
  return undefined;
}

function span(r: { start: { offset: number }; end: { offset: number } }): { start: number; end: number } {
  return { start: r.start.offset, end: r.end.offset };
}

/** A `$NAME` or `${NAME…}` reference around an offset (an escaped `\$` is not one). */
function variableAt(text: string, offset: number): Target | undefined {
  let ls = offset;
  while (ls > 0 && text[ls - 1] !== '\n') ls--;
  let le = offset;
  while (le < text.length && text[le] !== '\n') le++;
  const line = text.slice(ls, le);
  const re = /\$(\{)?([A-Za-z_][A-Za-z0-9_]*)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const start = ls + m.index;
    if (line[m.index - 1] === '\\') continue;
    const nameStart = start + 1 + (m[1] ? 1 : 0);
    const end = nameStart + m[2]!.length;
    if (start <= offset && offset <= end) return { kind: 'variable', name: m[2]!, start: nameStart, end };
  }
  return undefined;
}
