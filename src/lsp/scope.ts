/**
 * Which ARG and ENV variables are visible at a point of the file, and their values there, with
 * Docker's scoping: global ARGs (before the first FROM) are visible on FROM lines and, inside a
 * stage, only once redeclared by `ARG NAME`; ENV carries over from a parent stage (`FROM <stage>`).
 * Values are expanded with lowering's own `expandWord`; build args are not known to the editor.
 */
import { hostPlatform } from '../cli/compile.js';
import { expandWord, predefinedArgs } from '../lower/index.js';
import type { Arg, InstructionNode } from '../syntax/ast.js';
import { type Analysis, instructionAt, type StageInfo, stageAt } from './analysis.js';

export interface VariableInfo {
  name: string;
  kind: 'ARG' | 'ENV' | 'predefined';
  /** The value at that point; undefined for `ARG NAME` with no default and no global value. */
  value: string | undefined;
  /** The name in its declaration (none for predefined ARGs). */
  decl?: Arg;
}

export type Scope = Map<string, VariableInfo>;

/** The variables visible to the instruction at `offset` (its own declarations not yet in effect). */
export function variablesAt(a: Analysis, offset: number): Scope {
  const current = instructionAt(a, offset);
  const before = current ? current.range.start.offset : offset;
  const globals = globalScope(a, before);
  const stage = stageAt(a, offset);
  if (!stage || (current && current === stage.from)) return globals;
  return stageScope(a, stage, before, globals, 0);
}

function globalScope(a: Analysis, before: number): Scope {
  const p = hostPlatform();
  const scope: Scope = new Map();
  for (const [name, value] of predefinedArgs(p, p)) scope.set(name, { name, kind: 'predefined', value });
  for (const ins of a.globals) {
    if (ins.range.start.offset >= before) break;
    if (ins.keyword === 'ARG') declare(a, scope, ins, 'ARG', undefined);
  }
  return scope;
}

function stageScope(a: Analysis, stage: StageInfo, before: number, globals: Scope, depth: number): Scope {
  const scope: Scope = new Map();
  // ENV is inherited from a parent stage (`FROM build`), not ARG.
  const parent = stage.from.from?.kind === 'image' ? parentStage(a, stage) : undefined;
  if (parent && depth < 32) {
    for (const [k, v] of stageScope(a, parent, parent.end, globals, depth + 1))
      if (v.kind === 'ENV') scope.set(k, v);
  }
  for (const ins of stage.instructions) {
    if (ins.range.start.offset >= before) break;
    if (ins.keyword === 'ARG' || ins.keyword === 'ENV') declare(a, scope, ins, ins.keyword, globals);
  }
  return scope;
}

function parentStage(a: Analysis, stage: StageInfo): StageInfo | undefined {
  const ref = stage.from.from?.source.value.toLowerCase();
  for (let i = stage.index - 1; i >= 0; i--) {
    const s = a.stages[i]!;
    if (s.name && s.name.value.toLowerCase() === ref) return s;
  }
  return undefined;
}

function declare(
  a: Analysis,
  scope: Scope,
  ins: InstructionNode,
  kind: 'ARG' | 'ENV',
  globals: Scope | undefined,
): void {
  const env = new Map<string, string>();
  for (const [k, v] of scope) if (v.value !== undefined) env.set(k, v.value);
  for (const pair of ins.pairs ?? []) {
    const name = pair.key.value;
    let value: string | undefined;
    if (pair.value) {
      const r = expandWord(pair.legacy ? pair.value.value : pair.value.raw, env, {
        escapeToken: a.ast.escape,
      });
      value = r.ok ? r.value : pair.value.value;
    } else if (kind === 'ARG') {
      // `ARG NAME` in a stage takes the global ARG's value (and keeps an earlier one in the stage).
      value = scope.get(name)?.value ?? globals?.get(name)?.value;
    }
    scope.set(name, { name, kind, value, decl: pair.key });
    if (value !== undefined) env.set(name, value);
  }
}
