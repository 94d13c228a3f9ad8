/** ARG, ENV, LABEL and ANNOTATION: variables and key-value metadata. */
import {
  type Ctx,
  checkFlags,
  config,
  error,
  expandIn,
  node,
  pairRange,
  pairsOf,
} from './instruction-context.js';

/** ARG inside a stage (BuildKit's dispatchArg): build arg, else default, else the global value. */
export function lowerArg(ctx: Ctx): void {
  checkFlags(ctx);
  const pairs = pairsOf(node(ctx));
  if (pairs.length === 0) error(ctx, 'lower/missing-argument', 'ARG requires at least one argument');
  for (const p of pairs) {
    const key = p.key.value;
    if (key === '') {
      error(ctx, 'lower/bad-argument', 'ARG names can not be blank', p.key.range);
      continue;
    }
    ctx.args.declared?.set(key, ctx.located);
    let value: string | undefined;
    if (ctx.args.values.has(key)) {
      value = ctx.args.values.get(key)!;
      ctx.args.consumed.add(key);
    } else if (p.value !== undefined) {
      value = expandIn(ctx, p.value.raw, p.value.range)?.value ?? '';
    } else if (ctx.globals.has(key)) {
      value = ctx.globals.get(key)!;
    } else if (ctx.args.declared) {
      error(
        ctx,
        'lower/include-missing-parameter',
        `parameter ${key} of this fragment has no default: set it with INCLUDE … ${key}=<value>`,
        p.key.range,
      );
    }
    ctx.state.argKeys.add(key);
    if (value !== undefined) {
      ctx.state.env.set(key, value);
      ctx.state.assumed.delete(key);
    }
  }
}

/** ENV: every value is expanded with the environment before the instruction (Docker's rule). */
export function lowerEnv(ctx: Ctx): void {
  checkFlags(ctx);
  const pairs = pairsOf(node(ctx));
  if (pairs.length === 0) error(ctx, 'lower/missing-argument', 'ENV requires at least one argument');
  const out: [string, string][] = [];
  for (const p of pairs) {
    const key = expandIn(ctx, p.key.raw, p.key.range)?.value;
    if (key === undefined) continue;
    if (key === '') {
      error(ctx, 'lower/bad-argument', 'ENV names can not be blank', p.key.range);
      continue;
    }
    if (p.value === undefined) {
      error(ctx, 'lower/missing-argument', `ENV ${key} needs a value (ENV ${key}=value)`, pairRange(p));
      continue;
    }
    const value = expandIn(ctx, p.value.raw, p.value.range)?.value;
    if (value === undefined) continue;
    out.push([key, value]);
  }
  for (const [k, v] of out) {
    ctx.state.env.set(k, v);
    ctx.state.configEnv.set(k, v);
    ctx.state.assumed.delete(k);
  }
  // slice: the step keeps an exact copy (an array grown with push has room for 17).
  if (out.length > 0) config(ctx, { field: 'Env', env: out.slice() });
}

export function lowerKeyValues(ctx: Ctx, field: 'Labels' | 'Annotations'): void {
  checkFlags(ctx);
  const kw = node(ctx).keyword;
  const pairs = pairsOf(node(ctx));
  if (pairs.length === 0) error(ctx, 'lower/missing-argument', `${kw} requires at least one argument`);
  const out: [string, string][] = [];
  for (const p of pairs) {
    const key = expandIn(ctx, p.key.raw, p.key.range)?.value;
    if (key === undefined) continue;
    if (key === '') {
      error(ctx, 'lower/bad-argument', `${kw} names can not be blank`, p.key.range);
      continue;
    }
    if (p.value === undefined) {
      error(ctx, 'lower/missing-argument', `${kw} ${key} needs a value (${kw} ${key}=value)`, pairRange(p));
      continue;
    }
    const value = expandIn(ctx, p.value.raw, p.value.range)?.value;
    if (value !== undefined) out.push([key, value]);
  }
  if (out.length === 0) return;
  if (field === 'Labels') config(ctx, { field, labels: out.slice() });
  else config(ctx, { field, annotations: out.slice() });
}
