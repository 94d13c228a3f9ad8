/**
 * INCLUDE: the target (a stdlib fragment by name, or a path relative to the including file), its
 * KEY=VALUE parameters, the cycle check, and the splice itself with the fragment's own ARG scope.
 * Reading goes through the injected reader.
 */
import path from 'node:path';
import type { EscapeChar, InstructionNode } from '../syntax/ast.js';
import {
  type ArgSource,
  at,
  type IncludeFrame,
  type Located,
  type Reporter,
  type StageState,
} from './context.js';
import { type Ctx, expandIn } from './instruction-context.js';
import type { LowerOptions } from './lowerer.js';
import { closest } from './suggest.js';

/** A file as lowering knows it: its label in locations and diagnostics, and the path the reader gets. */
export interface FileRef {
  label: string;
  path: string;
}

export const STDLIB_LABEL = '<stdlib>';
export const FRAGMENT_EXTENSION = '.rootfile';

/** A bare name (no slash, no leading dot) refers to the stdlib. */
export function isStdlibName(target: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(target);
}

export function resolveInclude(target: string, including: FileRef, stdlibDir: string): FileRef {
  if (isStdlibName(target)) {
    return {
      label: `${STDLIB_LABEL}/${target}${FRAGMENT_EXTENSION}`,
      path: path.join(stdlibDir, `${target}${FRAGMENT_EXTENSION}`),
    };
  }
  if (path.posix.isAbsolute(target))
    return { label: path.posix.normalize(target), path: path.normalize(target) };
  return {
    label: path.posix.join(path.posix.dirname(including.label), target),
    path: path.join(path.dirname(including.path), target),
  };
}

export const MAX_INCLUDE_DEPTH = 32;

/** An INCLUDE being spliced, for the cycle check. */
export interface IncludeEntry {
  path: string;
  label: string;
}

/** What the splice needs from the lowerer. */
export interface IncludeHost {
  r: Reporter;
  rootFile: string;
  files: Map<string, FileRef>;
  stack: IncludeEntry[];
  sources: Map<string, string>;
  options: Pick<LowerOptions, 'readFile' | 'stdlibDir' | 'stdlibNames' | 'parse'>;
  /** Lower one instruction of the fragment in the current stage. */
  dispatch(located: Located, args: ArgSource, escapeChar: EscapeChar): void;
}

export function spliceInclude(host: IncludeHost, ctx: Ctx, state: StageState): void {
  const located = ctx.located;
  const n: InstructionNode = located.node;
  const first = n.args[0];
  if (!first) {
    host.r.error(
      'lower/missing-argument',
      'INCLUDE requires a fragment name or path',
      at(located, n.keywordRange),
    );
    return;
  }
  const target = expandIn(ctx, first.raw, first.range)?.value;
  if (target === undefined) return;
  if (target === '') {
    host.r.error('lower/bad-argument', 'INCLUDE target expands to an empty string', at(located, first.range));
    return;
  }
  const including = host.files.get(located.file) ?? { label: located.file, path: located.file };
  const ref = resolveInclude(target, including, host.options.stdlibDir);

  const chainLabels = [host.rootFile, ...host.stack.map((e) => e.label)];
  const rootPath = host.files.get(host.rootFile)!.path;
  if (ref.path === rootPath || host.stack.some((e) => e.path === ref.path)) {
    host.r.error(
      'lower/include-cycle',
      `INCLUDE cycle: ${[...chainLabels, ref.label].join(' → ')}`,
      at(located, first.range),
    );
    return;
  }
  if (host.stack.length >= MAX_INCLUDE_DEPTH) {
    host.r.error(
      'lower/include-depth',
      `INCLUDEs nested more than ${MAX_INCLUDE_DEPTH} deep`,
      at(located, first.range),
    );
    return;
  }
  const text = host.options.readFile(ref.path);
  if (text === undefined) {
    if (isStdlibName(target)) {
      const guess = host.options.stdlibNames ? closest(target, host.options.stdlibNames) : undefined;
      const list = host.options.stdlibNames?.length
        ? `; the stdlib has ${host.options.stdlibNames.join(', ')}`
        : '';
      host.r.error(
        'lower/unknown-include',
        `unknown stdlib fragment "${target}"${guess ? ` (did you mean ${guess}?)` : list}`,
        at(located, first.range),
        guess ? { suggestion: guess } : {},
      );
    } else {
      host.r.error(
        'lower/unknown-include',
        `cannot read INCLUDE file ${ref.label}`,
        at(located, first.range),
      );
    }
    return;
  }

  // KEY=VALUE parameters, expanded in the including scope.
  const params = new Map<string, string>();
  const paramArgs = new Map<string, (typeof n.args)[number]>();
  const pairs =
    n.pairs ??
    n.args.slice(1).map((arg) => {
      const eq = arg.raw.indexOf('=');
      if (eq <= 0) return { key: arg, value: undefined };
      const key = { value: arg.raw.slice(0, eq), raw: arg.raw.slice(0, eq), range: arg.range };
      const value = { value: arg.raw.slice(eq + 1), raw: arg.raw.slice(eq + 1), range: arg.range };
      return { key, value };
    });
  for (const p of pairs) {
    const key = p.key.value;
    const whole = p.value ? { start: p.key.range.start, end: p.value.range.end } : p.key.range;
    if (!p.value) {
      host.r.error(
        'lower/bad-argument',
        `INCLUDE parameters are KEY=VALUE, not "${p.key.raw}"`,
        at(located, whole),
      );
      continue;
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      host.r.error('lower/bad-argument', `invalid parameter name "${p.key.raw}"`, at(located, p.key.range));
      continue;
    }
    const value = expandIn(ctx, p.value.raw, p.value.range)?.value;
    if (value === undefined) continue;
    if (paramArgs.has(key)) {
      host.r.error('lower/bad-argument', `parameter ${key} is given twice`, at(located, whole));
      continue;
    }
    params.set(key, value);
    paramArgs.set(key, { value: p.key.value, raw: p.key.raw, range: whole });
  }

  host.sources.set(ref.label, text);
  host.files.set(ref.label, ref);
  const parsed = host.options.parse(text, ref.label);
  const frame: IncludeFrame = { file: located.file, range: n.range, target };
  const chain = [...located.chain, frame];
  for (const d of parsed.diagnostics) {
    host.r.report(d.severity, d.code, d.message, d.location ? { ...d.location, chain } : undefined, {
      ...(d.suggestion !== undefined ? { suggestion: d.suggestion } : {}),
      ...(d.notes ? { notes: d.notes } : {}),
    });
  }

  const envBefore = new Map(state.env);
  const configBefore = new Map(state.configEnv);
  const argKeysBefore = new Set(state.argKeys);
  const assumedBefore = new Set(state.assumed);
  const source: ArgSource = { values: params, consumed: new Set(), declared: new Map() };
  host.stack.push({ path: ref.path, label: ref.label });
  try {
    for (const node of parsed.ast.instructions) {
      const inner: Located = { node, file: ref.label, chain };
      if (node.keyword.toUpperCase() === 'FROM') {
        host.r.error(
          'lower/bad-include',
          'an INCLUDE fragment cannot contain FROM',
          at(inner, node.keywordRange),
        );
        continue;
      }
      host.dispatch(inner, source, parsed.ast.escape);
    }
  } finally {
    host.stack.pop();
  }

  for (const [key, arg] of paramArgs) {
    if (source.declared!.has(key)) continue;
    const declared = [...source.declared!.keys()];
    const guess = closest(key, declared);
    host.r.error(
      'lower/include-unknown-parameter',
      `INCLUDE ${target}: no parameter ${key}${guess ? ` (did you mean ${guess}?)` : declared.length > 0 ? `; its parameters: ${declared.join(', ')}` : ' (it declares no ARG)'}`,
      at(located, arg.range),
      guess ? { suggestion: guess } : {},
    );
  }
  // The fragment's ARGs end with it; what its ENVs set stays (it is image config).
  for (const key of source.declared!.keys()) {
    if (state.configEnv.get(key) !== configBefore.get(key)) continue;
    if (assumedBefore.has(key)) state.assumed.add(key);
    if (envBefore.has(key)) state.env.set(key, envBefore.get(key)!);
    else state.env.delete(key);
  }
  state.argKeys.clear();
  for (const k of argKeysBefore) state.argKeys.add(k);
}
