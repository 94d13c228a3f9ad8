/**
 * What every instruction's lowering shares: the context it runs in (stage state, ARG source,
 * reporter), and helpers for flags, expansion, arguments and steps.
 */
import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { Arg, InstructionNode } from '../syntax/ast.js';
import { type ArgSource, at, type Located, locationOf, type Reporter, type StageState } from './context.js';
import { type ExpandOk, expandWord, type LexOptions } from './expand.js';
import { type ParsedFlags, parseFlags } from './flags.js';
import type { ConfigChange, Location, Step } from './ir.js';
import { closest } from './suggest.js';

/** A heredoc marker word: `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`. */
export const HEREDOC_WORD = /^\s*\d*<<(-?)\s*(["']?)([^"'\s<]+)\2\s*$/;

export interface StageRef {
  id: string;
  name?: string;
  index: number;
}

export interface Ctx {
  r: Reporter;
  located: Located;
  state: StageState;
  stage: StageRef;
  stages: readonly StageRef[];
  escape: string;
  args: ArgSource;
  /** Global ARG values (predefined platform args and ARGs before the first FROM that have a value). */
  globals: ReadonlyMap<string, string>;
  /** Splice an INCLUDE (handled by the lowerer, which knows files and the parser). */
  include(ctx: Ctx): void;
}

export type Handler = (ctx: Ctx) => void;

export const node = (ctx: Ctx): InstructionNode => ctx.located.node;

/**
 * Add a step. Callers write `location: here(ctx)` in the step's literal: a property added to an
 * object after it is made goes to a separate property store, one more object per step.
 */
export function addStep(ctx: Ctx, step: Step): void {
  ctx.state.steps.push(step);
}

/** The location of the instruction being lowered, for its step. */
export function here(ctx: Ctx): Location {
  return locationOf(ctx.located);
}

export function config(ctx: Ctx, change: ConfigChange): void {
  addStep(ctx, { op: 'config', change, location: here(ctx) });
}

export function error(
  ctx: Ctx,
  code: string,
  message: string,
  range?: SourceRange,
  suggestion?: string,
): void {
  ctx.r.error(code, message, at(ctx.located, range ?? node(ctx).range), suggestion ? { suggestion } : {});
}

export function checkFlags(ctx: Ctx, allowed: Record<string, 'bool' | 'string' | 'multi'> = {}): ParsedFlags {
  const flags = parseFlags(node(ctx), allowed);
  for (const p of flags.problems) {
    ctx.r.error(
      p.code,
      p.message,
      at(ctx.located, p.flag.range),
      p.suggestion ? { suggestion: p.suggestion } : {},
    );
  }
  return flags;
}

/**
 * Expand a word with the stage's environment. Reports substitution errors and undefined variables;
 * returns undefined when the word could not be expanded.
 */
export function expandIn(ctx: Ctx, text: string, range: SourceRange, lex?: LexOptions): ExpandOk | undefined {
  const opts =
    lex === undefined
      ? (PLAIN_LEX[ctx.escape] ?? { escapeToken: ctx.escape })
      : { escapeToken: ctx.escape, ...lex };
  const r = expandWord(text, ctx.state.env, opts);
  if (!r.ok) {
    if (r.required) error(ctx, 'lower/required-variable', r.message, range);
    else error(ctx, 'lower/bad-substitution', `variable substitution failed: ${r.message}`, range);
    return undefined;
  }
  warnUndefined(ctx, r, range);
  return r;
}

/** The lexer options of a plain expansion, by escape token: one object each, not one per word. */
const PLAIN_LEX: Record<string, LexOptions> = { '\\': { escapeToken: '\\' }, '`': { escapeToken: '`' } };

export function warnUndefined(ctx: Ctx, r: ExpandOk, range: SourceRange): void {
  if (r.unmatchedBare.size === 0) return;
  for (const name of r.unmatchedBare) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || ctx.state.argKeys.has(name)) continue;
    if (!ctx.state.envKnown) {
      ctx.r.warning(
        'lower/unknown-base-variable',
        `"$${name}" is not set by this Rootfile and the base image's config is not known when compiling: it expands to an empty string`,
        at(ctx.located, range),
      );
      continue;
    }
    if (ctx.globals.has(name)) {
      ctx.r.warning(
        'lower/undefined-variable',
        `"$${name}" is a global ARG, not declared in this stage: it expands to an empty string (add "ARG ${name}" to the stage)`,
        at(ctx.located, range),
      );
      continue;
    }
    const guess = closest(name, [...ctx.state.env.keys(), ...ctx.state.argKeys]);
    ctx.r.warning(
      'lower/undefined-variable',
      `undefined variable "$${name}" expands to an empty string${guess ? ` (did you mean $${guess}?)` : ''}`,
      at(ctx.located, range),
      guess ? { suggestion: guess } : {},
    );
  }
}

/** The text to expand for an argument: exec-form strings are already decoded, other words are raw. */
export function wordText(ctx: Ctx, arg: Arg): string {
  return node(ctx).json ? arg.value : arg.raw;
}

export function expandArg(ctx: Ctx, arg: Arg): string | undefined {
  return expandIn(ctx, wordText(ctx, arg), arg.range)?.value;
}

/** For instructions Docker reads as one string (WORKDIR, USER, STOPSIGNAL, MAINTAINER). */
export function singleArg(ctx: Ctx, what: string): Arg | undefined {
  const args = node(ctx).args;
  if (args.length === 0) {
    error(ctx, 'lower/missing-argument', `${what} requires exactly one argument`, node(ctx).keywordRange);
    return undefined;
  }
  if (args.length === 1) return args[0];
  const first = args[0]!;
  const last = args[args.length - 1]!;
  return {
    value: args.map((a) => a.value).join(' '),
    raw: args.map((a) => a.raw).join(' '),
    range: { start: first.range.start, end: last.range.end },
  };
}

export interface Pair {
  key: Arg;
  value: Arg | undefined;
}

export function pairsOf(n: InstructionNode): Pair[] {
  // Read only by the callers: the node's pairs as they are (a parsed node makes them when read).
  const pairs = n.pairs;
  if (pairs) return pairs;
  const out: Pair[] = [];
  for (let i = 0; i < n.args.length; i += 2) out.push({ key: n.args[i]!, value: n.args[i + 1] });
  return out;
}

export function pairRange(p: Pair): SourceRange {
  return p.value ? { start: p.key.range.start, end: p.value.range.end } : p.key.range;
}
