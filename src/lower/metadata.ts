/** WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, MAINTAINER and ONBUILD. */
import path from 'node:path';
import { at } from './context.js';
import { INSTRUCTION_FLAGS, parseFlags } from './flags.js';
import {
  addStep,
  type Ctx,
  checkFlags,
  config,
  error,
  expandArg,
  expandIn,
  here,
  node,
  singleArg,
  wordText,
} from './instruction-context.js';
import type { Healthcheck } from './ir.js';
import { parseDuration, parseExposedPort, parseSignal, parseUser } from './values.js';

/** Every instruction keyword lowering knows (ONBUILD checks its trigger against it). */
export const INSTRUCTIONS = [
  'ADD',
  'ANNOTATION',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'INCLUDE',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'REMOVE',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
];

export function lowerWorkdir(ctx: Ctx): void {
  checkFlags(ctx);
  const arg = singleArg(ctx, 'WORKDIR');
  if (!arg) return;
  const p = expandArg(ctx, arg);
  if (p === undefined) return;
  if (p === '') {
    error(ctx, 'lower/bad-argument', 'WORKDIR expands to an empty path', arg.range);
    return;
  }
  const wd = p.startsWith('/') ? p : path.posix.join('/', ctx.state.workdir, p);
  ctx.state.workdir = wd;
  addStep(ctx, { op: 'workdir', path: wd, user: ctx.state.user, location: here(ctx) });
}

export function lowerUser(ctx: Ctx): void {
  checkFlags(ctx);
  const arg = singleArg(ctx, 'USER');
  if (!arg) return;
  const u = expandArg(ctx, arg);
  if (u === undefined) return;
  const checked = parseUser(u, 'USER');
  if (!checked.ok) {
    error(ctx, 'lower/bad-user', checked.message, arg.range);
    return;
  }
  ctx.state.user = checked.value;
  config(ctx, { field: 'User', user: checked.value });
}

export function lowerExpose(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  if (n.args.length === 0) {
    error(ctx, 'lower/missing-argument', 'EXPOSE requires at least one argument', n.keywordRange);
    return;
  }
  const ports: string[] = [];
  for (const arg of n.args) {
    const r = expandIn(ctx, wordText(ctx, arg), arg.range);
    if (!r) continue;
    for (const word of r.words) {
      const checked = parseExposedPort(word);
      if (!checked.ok) error(ctx, 'lower/bad-port', checked.message, arg.range);
      else for (const p of checked.value) if (!ports.includes(p)) ports.push(p);
    }
  }
  // slice: the step keeps an exact copy (an array grown with push has room for 17).
  if (ports.length > 0) config(ctx, { field: 'ExposedPorts', ports: ports.slice() });
}

export function lowerVolume(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  if (n.args.length === 0) {
    error(ctx, 'lower/missing-argument', 'VOLUME requires at least one argument', n.keywordRange);
    return;
  }
  const volumes: string[] = [];
  for (const arg of n.args) {
    const v = expandArg(ctx, arg)?.trim();
    if (v === undefined) continue;
    if (v === '') {
      error(ctx, 'lower/bad-argument', 'VOLUME specified can not be an empty string', arg.range);
      continue;
    }
    if (!volumes.includes(v)) volumes.push(v);
  }
  if (volumes.length > 0) config(ctx, { field: 'Volumes', volumes: volumes.slice() });
}

export function lowerStopSignal(ctx: Ctx): void {
  checkFlags(ctx);
  const arg = singleArg(ctx, 'STOPSIGNAL');
  if (!arg) return;
  const s = expandArg(ctx, arg);
  if (s === undefined) return;
  const checked = parseSignal(s);
  if (!checked.ok) {
    error(
      ctx,
      'lower/bad-signal',
      `${checked.message}: expected a name such as SIGTERM or a number from 1 to 64`,
      arg.range,
    );
    return;
  }
  config(ctx, { field: 'StopSignal', signal: checked.value });
}

const MIN_HEALTH_DURATION = 1e6; // Docker's container.MinimumDuration: 1ms

export function lowerHealthcheck(ctx: Ctx): void {
  const n = node(ctx);
  if (n.args.length === 0) {
    error(ctx, 'lower/missing-argument', 'HEALTHCHECK requires at least one argument', n.keywordRange);
    return;
  }
  const type = n.args[0]!.value.toUpperCase();
  const rest = n.args.slice(1);
  if (type === 'NONE') {
    for (const f of n.flags) error(ctx, 'lower/unknown-flag', 'HEALTHCHECK NONE takes no flags', f.range);
    if (rest.length > 0)
      error(ctx, 'lower/bad-argument', 'HEALTHCHECK NONE takes no arguments', rest[0]!.range);
    config(ctx, { field: 'Healthcheck', healthcheck: { test: ['NONE'] } });
    return;
  }
  const flags = checkFlags(ctx, INSTRUCTION_FLAGS.HEALTHCHECK);
  if (type !== 'CMD') {
    error(
      ctx,
      'lower/bad-argument',
      `unknown type "${n.args[0]!.value}" in HEALTHCHECK (try CMD)`,
      n.args[0]!.range,
    );
    return;
  }
  let test: string[];
  if (n.json) test = ['CMD', ...rest.map((a) => a.value)];
  else test = ['CMD-SHELL', rest.map((a) => a.value).join(' ')];
  if (test.length === 1 || (test[0] === 'CMD-SHELL' && test[1]!.trim() === '')) {
    error(ctx, 'lower/missing-argument', 'missing command after HEALTHCHECK CMD', n.args[0]!.range);
    return;
  }
  const hc: Healthcheck = { test };
  const durations: [string, 'interval' | 'timeout' | 'startPeriod' | 'startInterval'][] = [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start-period', 'startPeriod'],
    ['start-interval', 'startInterval'],
  ];
  for (const [flagName, field] of durations) {
    const f = flags.strings.get(flagName);
    if (!f || f.value === '') continue;
    const d = parseDuration(f.value);
    if (!d.ok) {
      error(ctx, 'lower/bad-flag-value', `--${flagName}: ${d.message}`, f.flag.range);
      continue;
    }
    if (d.value === 0) continue;
    if (d.value < MIN_HEALTH_DURATION) {
      error(ctx, 'lower/bad-flag-value', `--${flagName} cannot be less than 1ms`, f.flag.range);
      continue;
    }
    hc[field] = d.value;
  }
  const retries = flags.strings.get('retries');
  if (retries && retries.value !== '') {
    if (!/^-?\d+$/.test(retries.value) || Number(retries.value) > 2147483647) {
      error(
        ctx,
        'lower/bad-flag-value',
        `--retries expects a whole number, not "${retries.value}"`,
        retries.flag.range,
      );
    } else if (Number(retries.value) < 0) {
      error(
        ctx,
        'lower/bad-flag-value',
        `--retries cannot be negative (${retries.value})`,
        retries.flag.range,
      );
    } else if (Number(retries.value) > 0) {
      hc.retries = Number(retries.value);
    }
  }
  config(ctx, { field: 'Healthcheck', healthcheck: hc });
}

export function lowerMaintainer(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  if (n.args.length === 0) {
    error(ctx, 'lower/missing-argument', 'MAINTAINER requires exactly one argument', n.keywordRange);
    return;
  }
  config(ctx, { field: 'Author', author: n.args.map((a) => a.value).join(' ') });
}

export function lowerOnbuild(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  const inner = n.inner;
  if (!inner) {
    error(ctx, 'lower/missing-argument', 'ONBUILD requires an instruction', n.keywordRange);
    return;
  }
  const kw = inner.keyword.toUpperCase();
  if (kw === 'ONBUILD') {
    error(
      ctx,
      'lower/bad-onbuild',
      "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
      inner.keywordRange,
    );
    return;
  }
  if (kw === 'FROM' || kw === 'MAINTAINER' || kw === 'INCLUDE') {
    error(ctx, 'lower/bad-onbuild', `${kw} isn't allowed as an ONBUILD trigger`, inner.keywordRange);
    return;
  }
  if (!INSTRUCTIONS.includes(kw)) {
    error(
      ctx,
      'lower/unknown-instruction',
      `unknown instruction ${inner.keyword} in ONBUILD`,
      inner.keywordRange,
    );
    return;
  }
  // Check the trigger's flags now; it is lowered when a stage is built FROM this one.
  const allowed = INSTRUCTION_FLAGS[kw] ?? {};
  for (const p of parseFlags(inner, allowed).problems) {
    ctx.r.error(
      p.code,
      p.message,
      at(ctx.located, p.flag.range),
      p.suggestion ? { suggestion: p.suggestion } : {},
    );
  }
  let trigger = inner.original;
  for (const h of inner.heredocs) trigger += `\n${h.content}${h.name}`;
  ctx.state.onbuild.push({ ...ctx.located, node: inner });
  config(ctx, { field: 'OnBuild', trigger });
}
