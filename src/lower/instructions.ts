/**
 * One lowering function per instruction (BuildKit's `instructions` parse + `dockerfile2llb` dispatch
 * in one step): the untyped node becomes IR steps and state changes. A dispatch table maps the
 * keyword to its function.
 */
import path from 'node:path';
import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { Arg, Heredoc, InstructionNode } from '../syntax/ast.js';
import {
  type ArgSource,
  type At,
  at,
  type Located,
  locationOf as locationFor,
  type Reporter,
  type StageState,
} from './context.js';
import { type ExpandOk, expandWord, type LexOptions } from './expand.js';
import { INSTRUCTION_FLAGS, type ParsedFlags, parseFlags } from './flags.js';
import type {
  AddSource,
  ConfigChange,
  CopyFrom,
  CopySource,
  Healthcheck,
  InlineFile,
  NetworkMode,
  StepBody,
} from './ir.js';
import { normalizeImageRef } from './reference.js';
import { closest } from './suggest.js';
import {
  isGitUrl,
  isUrl,
  parseChecksum,
  parseChmod,
  parseDuration,
  parseExposedPort,
  parseSignal,
  parseUser,
} from './values.js';

/** A stage as other stages see it (for COPY --from). */
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

type Handler = (ctx: Ctx) => void;

const node = (ctx: Ctx): InstructionNode => ctx.located.node;

function addStep(ctx: Ctx, step: StepBody, location = ctx.located): void {
  ctx.state.steps.push({ ...step, location: locationFor(location) });
}

function config(ctx: Ctx, change: ConfigChange): void {
  addStep(ctx, { op: 'config', change });
}

function error(ctx: Ctx, code: string, message: string, range?: SourceRange, suggestion?: string): void {
  ctx.r.error(code, message, at(ctx.located, range ?? node(ctx).range), suggestion ? { suggestion } : {});
}

function checkFlags(ctx: Ctx, allowed: Record<string, 'bool' | 'string' | 'multi'> = {}): ParsedFlags {
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
export function expandIn(
  ctx: Ctx,
  text: string,
  range: SourceRange,
  lex: LexOptions = {},
): ExpandOk | undefined {
  const r = expandWord(text, ctx.state.env, { escapeToken: ctx.escape, ...lex });
  if (!r.ok) {
    if (r.required) error(ctx, 'lower/required-variable', r.message, range);
    else error(ctx, 'lower/bad-substitution', `variable substitution failed: ${r.message}`, range);
    return undefined;
  }
  warnUndefined(ctx, r, range);
  return r;
}

function warnUndefined(ctx: Ctx, r: ExpandOk, range: SourceRange): void {
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
function wordText(ctx: Ctx, arg: Arg): string {
  return node(ctx).json ? arg.value : arg.raw;
}

function expandArg(ctx: Ctx, arg: Arg): string | undefined {
  return expandIn(ctx, wordText(ctx, arg), arg.range)?.value;
}

/** For instructions Docker reads as one string (WORKDIR, USER, STOPSIGNAL, MAINTAINER). */
function singleArg(ctx: Ctx, what: string): Arg | undefined {
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

interface Pair {
  key: Arg;
  value: Arg | undefined;
}

function pairsOf(n: InstructionNode): Pair[] {
  if (n.pairs) return n.pairs.map((p) => ({ key: p.key, value: p.value }));
  const out: Pair[] = [];
  for (let i = 0; i < n.args.length; i += 2) out.push({ key: n.args[i]!, value: n.args[i + 1] });
  return out;
}

function pairRange(p: Pair): SourceRange {
  return p.value ? { start: p.key.range.start, end: p.value.range.end } : p.key.range;
}

// --- ARG / ENV / LABEL / ANNOTATION -------------------------------------------------------------

/** ARG inside a stage (BuildKit's dispatchArg): build arg, else default, else the global value. */
function lowerArg(ctx: Ctx): void {
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
function lowerEnv(ctx: Ctx): void {
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
  if (out.length > 0) config(ctx, { field: 'Env', env: out });
}

function lowerKeyValues(ctx: Ctx, field: 'Labels' | 'Annotations'): void {
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
  if (field === 'Labels') config(ctx, { field, labels: out });
  else config(ctx, { field, annotations: out });
}

// --- RUN / CMD / ENTRYPOINT / SHELL --------------------------------------------------------------

const HEREDOC_WORD = /^\s*\d*<<(-?)\s*(["']?)([^"'\s<]+)\2\s*$/;

function shellScript(n: InstructionNode): string {
  return n.args.map((a) => a.value).join(' ');
}

/** The environment of a RUN; consecutive RUNs with no ENV/ARG between them share one array. */
const envCache = new WeakMap<StageState, { version: number; list: string[] }>();

function runEnv(state: StageState): string[] {
  const cached = envCache.get(state);
  if (cached && cached.version === state.env.version) return cached.list;
  const list = [...state.env].filter(([k]) => !state.assumed.has(k)).map(([k, v]) => `${k}=${v}`);
  envCache.set(state, { version: state.env.version, list });
  return list;
}

function lowerRun(ctx: Ctx): void {
  const n = node(ctx);
  const flags = checkFlags(ctx, INSTRUCTION_FLAGS.RUN);
  let network: NetworkMode = 'default';
  const net = flags.strings.get('network');
  if (net) {
    if (net.value === 'default' || net.value === 'none' || net.value === 'host') network = net.value;
    else {
      error(
        ctx,
        'lower/bad-flag-value',
        `invalid --network "${net.value}": expected default, none or host`,
        net.flag.range,
      );
    }
  }
  for (const m of flags.multi.get('mount') ?? []) {
    error(
      ctx,
      'lower/unsupported',
      'RUN --mount is not supported yet (rootc runs each RUN on the stage rootfs only)',
      m.flag.range,
    );
  }
  for (const d of flags.multi.get('device') ?? []) {
    error(ctx, 'lower/unsupported', 'RUN --device is not supported', d.flag.range);
  }
  const sec = flags.strings.get('security');
  if (sec && sec.value !== 'sandbox') {
    error(
      ctx,
      'lower/unsupported',
      `RUN --security=${sec.value} is not supported (only sandbox)`,
      sec.flag.range,
    );
  }

  let argv: string[];
  const inlineFiles: InlineFile[] = [];
  if (n.json) {
    argv = n.args.map((a) => a.value);
    if (n.heredocs.length > 0) {
      error(ctx, 'lower/bad-heredoc', 'heredocs can only be used with the shell form of RUN');
    }
    if (argv.length === 0) {
      error(ctx, 'lower/missing-argument', 'RUN requires a command', n.keywordRange);
      return;
    }
  } else {
    let script = shellScript(n);
    if (n.heredocs.length > 0) {
      const only = HEREDOC_WORD.exec(script);
      const first = n.heredocs[0]!;
      if (only && n.heredocs.length === 1) {
        if (first.content.startsWith('#!')) {
          // A script with a shebang: written to a file and run by path (BuildKit mounts it at /dev/pipes).
          const file = path.posix.join('/dev/pipes', first.name);
          inlineFiles.push({ path: file, content: first.content, mode: 0o755 });
          script = file;
        } else {
          script = first.content;
        }
      } else {
        // The shell reads the heredocs itself: give it the command line and the bodies.
        for (const h of n.heredocs) script += `\n${h.content}${h.name}`;
      }
    } else if (script.trim() === '') {
      error(ctx, 'lower/missing-argument', 'RUN requires a command', n.keywordRange);
      return;
    }
    argv = [...ctx.state.shell, script];
  }
  addStep(ctx, {
    op: 'run',
    argv,
    shellForm: !n.json,
    env: runEnv(ctx.state),
    user: ctx.state.user,
    workdir: ctx.state.workdir,
    network,
    inlineFiles,
  });
}

function commandLine(ctx: Ctx): string[] {
  const n = node(ctx);
  if (n.json) return n.args.map((a) => a.value);
  return [...ctx.state.shell, shellScript(n)];
}

function lowerCmd(ctx: Ctx): void {
  checkFlags(ctx);
  ctx.state.cmdSet = true;
  config(ctx, { field: 'Cmd', cmd: commandLine(ctx) });
}

function lowerEntrypoint(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  const entrypoint = n.json && n.args.length === 0 ? null : commandLine(ctx);
  config(ctx, { field: 'Entrypoint', entrypoint, resetCmd: !ctx.state.cmdSet });
}

function lowerShell(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  if (!n.json) {
    error(
      ctx,
      'lower/shell-not-json',
      'SHELL requires the JSON form, e.g. SHELL ["/bin/bash", "-c"]',
      n.args.length > 0
        ? { start: n.args[0]!.range.start, end: n.args[n.args.length - 1]!.range.end }
        : n.range,
    );
    return;
  }
  if (n.args.length === 0) {
    error(ctx, 'lower/missing-argument', 'SHELL requires at least one argument', n.range);
    return;
  }
  ctx.state.shell = n.args.map((a) => a.value);
  config(ctx, { field: 'Shell', shell: [...ctx.state.shell] });
}

// --- WORKDIR / USER / EXPOSE / VOLUME / STOPSIGNAL / HEALTHCHECK / MAINTAINER / ONBUILD ----------

function lowerWorkdir(ctx: Ctx): void {
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
  addStep(ctx, { op: 'workdir', path: wd, user: ctx.state.user });
}

function lowerUser(ctx: Ctx): void {
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

function lowerExpose(ctx: Ctx): void {
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
  if (ports.length > 0) config(ctx, { field: 'ExposedPorts', ports });
}

function lowerVolume(ctx: Ctx): void {
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
  if (volumes.length > 0) config(ctx, { field: 'Volumes', volumes });
}

function lowerStopSignal(ctx: Ctx): void {
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

function lowerHealthcheck(ctx: Ctx): void {
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

function lowerMaintainer(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  if (n.args.length === 0) {
    error(ctx, 'lower/missing-argument', 'MAINTAINER requires exactly one argument', n.keywordRange);
    return;
  }
  config(ctx, { field: 'Author', author: n.args.map((a) => a.value).join(' ') });
}

function lowerOnbuild(ctx: Ctx): void {
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
  if (!(kw in HANDLERS)) {
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

// --- COPY / ADD / REMOVE ---------------------------------------------------------------------------

function heredocFor(n: InstructionNode, arg: Arg): Heredoc | undefined {
  const m = HEREDOC_WORD.exec(arg.value);
  if (!m) return undefined;
  return (
    n.heredocs.find((h) => h.range.start.offset === arg.range.start.offset) ??
    n.heredocs.find((h) => h.name === m[3])
  );
}

function resolveFrom(ctx: Ctx, value: string, range: SourceRange): CopyFrom | undefined {
  if (value === 'host') return { kind: 'host' };
  if (/^\d+$/.test(value)) {
    const index = Number(value);
    const target = ctx.stages[index];
    if (!target) {
      error(
        ctx,
        'lower/unknown-stage',
        `invalid stage index ${value}: the Rootfile has ${ctx.stages.length} stage(s)`,
        range,
      );
      return undefined;
    }
    if (target.index === ctx.stage.index) {
      error(ctx, 'lower/circular-dependency', `--from=${value} refers to the stage it is in`, range);
      return undefined;
    }
    return { kind: 'stage', stage: target.id };
  }
  const lower = value.toLowerCase();
  const named = ctx.stages.find((s) => s.name === lower);
  if (named) {
    if (named.index === ctx.stage.index) {
      error(ctx, 'lower/circular-dependency', `--from=${value} refers to the stage it is in`, range);
      return undefined;
    }
    return { kind: 'stage', stage: named.id };
  }
  const names = ctx.stages.flatMap((s) => (s.name ? [s.name] : []));
  const guess = closest(value, names);
  if (guess && !/[/:@.]/.test(value)) {
    error(ctx, 'lower/unknown-stage', `unknown stage "${value}" (did you mean ${guess}?)`, range, guess);
    return undefined;
  }
  const ref = normalizeImageRef(value);
  if (!ref.ok) {
    error(
      ctx,
      'lower/unknown-stage',
      `--from=${value} is neither a stage nor an image: ${ref.message}`,
      range,
    );
    return undefined;
  }
  return { kind: 'image', ref: ref.value, original: value };
}

interface CopyCommonResult {
  dest: string;
  chown?: string;
  chmod?: number;
  link: boolean;
  exclude: string[];
}

function lowerCopyOrAdd(ctx: Ctx, kind: 'COPY' | 'ADD'): void {
  const n = node(ctx);
  const flags = checkFlags(ctx, INSTRUCTION_FLAGS[kind]);
  if (n.args.length < 2) {
    error(
      ctx,
      'lower/missing-argument',
      n.args.length === 0
        ? `${kind} requires at least two arguments: the sources and a destination`
        : `${kind} requires at least two arguments, but only one was provided: the destination could not be determined`,
      n.args[0]?.range ?? n.keywordRange,
    );
    return;
  }
  let failed = false;
  const flagValue = (name: string): { value: string; range: SourceRange } | undefined => {
    const f = flags.strings.get(name);
    if (!f) return undefined;
    const v = expandIn(ctx, f.value, f.flag.range)?.value;
    if (v === undefined) {
      failed = true;
      return undefined;
    }
    return { value: v, range: f.flag.range };
  };

  const common: CopyCommonResult = { dest: '', link: flags.bools.get('link')?.value ?? false, exclude: [] };
  const chown = flagValue('chown');
  if (chown) {
    const u = parseUser(chown.value, '--chown');
    if (!u.ok) {
      error(ctx, 'lower/bad-flag-value', u.message, chown.range);
      failed = true;
    } else common.chown = u.value;
  }
  const chmod = flagValue('chmod');
  if (chmod) {
    const m = parseChmod(chmod.value);
    if (!m.ok) {
      error(ctx, 'lower/bad-chmod', m.message, chmod.range);
      failed = true;
    } else common.chmod = m.value;
  }
  for (const e of flags.multi.get('exclude') ?? []) {
    const v = expandIn(ctx, e.value, e.flag.range)?.value;
    if (v === undefined) failed = true;
    else if (v === '') error(ctx, 'lower/bad-flag-value', '--exclude needs a pattern', e.flag.range);
    else common.exclude.push(v);
  }

  let from: CopyFrom = { kind: 'context' };
  if (kind === 'COPY') {
    const f = flagValue('from');
    if (f) {
      if (f.value === '') {
        error(ctx, 'lower/bad-flag-value', '--from expands to an empty string', f.range);
        failed = true;
      } else {
        const resolved = resolveFrom(ctx, f.value, f.range);
        if (!resolved) failed = true;
        else {
          from = resolved;
          if (resolved.kind === 'stage' && !ctx.state.deps.includes(resolved.stage))
            ctx.state.deps.push(resolved.stage);
        }
      }
    }
  }

  const destArg = n.args[n.args.length - 1]!;
  if (heredocFor(n, destArg) || HEREDOC_WORD.test(destArg.value)) {
    error(ctx, 'lower/bad-heredoc', `${kind} cannot accept a heredoc as a destination`, destArg.range);
    return;
  }
  const destText = expandArg(ctx, destArg);
  if (destText === undefined) return;
  common.dest = destination(ctx.state.workdir, destText);

  const sources: (CopySource | AddSource)[] = [];
  for (const arg of n.args.slice(0, -1)) {
    const h = heredocFor(n, arg);
    if (h) {
      let content = h.content;
      if (h.expand) {
        const r = expandIn(ctx, content, arg.range, { escapeToken: '\\', skipProcessQuotes: true });
        if (!r) {
          failed = true;
          continue;
        }
        content = r.value;
      }
      sources.push({ kind: 'heredoc', name: h.name, content });
      continue;
    }
    const src = expandArg(ctx, arg);
    if (src === undefined) {
      failed = true;
      continue;
    }
    if (src === '') {
      error(ctx, 'lower/bad-argument', `${kind} source expands to an empty string`, arg.range);
      failed = true;
      continue;
    }
    if (kind === 'ADD' && isGitUrl(src)) {
      error(ctx, 'lower/unsupported', `ADD of a git repository is not supported yet: ${src}`, arg.range);
      failed = true;
      continue;
    }
    if (kind === 'ADD' && isUrl(src)) {
      sources.push({ kind: 'url', url: src });
      continue;
    }
    if (from.kind === 'host' && !src.startsWith('/')) {
      error(
        ctx,
        'lower/bad-argument',
        `COPY --from=host needs absolute source paths, not "${src}"`,
        arg.range,
      );
      failed = true;
      continue;
    }
    sources.push({ kind: 'path', path: src });
  }
  if (failed) return;

  if (kind === 'COPY') {
    addStep(ctx, {
      op: 'copy',
      from,
      sources: sources as CopySource[],
      ...common,
      parents: flags.bools.get('parents')?.value ?? false,
      deps: flags.bools.get('deps')?.value ?? false,
    });
    return;
  }
  const checksum = flagValue('checksum');
  let checksumValue: string | undefined;
  if (checksum) {
    const c = parseChecksum(checksum.value);
    if (!c.ok) {
      error(ctx, 'lower/bad-flag-value', c.message, checksum.range);
      return;
    }
    if (!sources.every((s) => s.kind === 'url')) {
      error(ctx, 'lower/bad-flag-value', '--checksum can only be used with URL sources', checksum.range);
      return;
    }
    checksumValue = c.value;
  }
  const keepGit = flags.bools.get('keep-git-dir');
  if (keepGit?.value) {
    error(
      ctx,
      'lower/unsupported',
      'ADD --keep-git-dir: git sources are not supported yet',
      keepGit.flag.range,
    );
    return;
  }
  addStep(ctx, {
    op: 'add',
    sources: sources as AddSource[],
    ...common,
    ...(checksumValue !== undefined ? { checksum: checksumValue } : {}),
    unpack: flags.bools.get('unpack')?.value ?? true,
  });
}

/** Docker's destination rule: relative to WORKDIR, and a trailing `/` (or `.`) means a directory. */
export function destination(workdir: string, dest: string): string {
  const joined = path.posix.join('/', dest.startsWith('/') ? '' : workdir, dest);
  const isDir = dest === '.' || dest === '' || dest.endsWith('/') || dest.endsWith('/.');
  if (isDir && !joined.endsWith('/')) return `${joined}/`;
  return joined;
}

function lowerRemove(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  if (n.args.length === 0) {
    error(ctx, 'lower/missing-argument', 'REMOVE requires at least one path', n.keywordRange);
    return;
  }
  const paths: string[] = [];
  for (const arg of n.args) {
    const p = expandArg(ctx, arg);
    if (p === undefined) continue;
    if (p === '') {
      error(ctx, 'lower/bad-argument', 'REMOVE path expands to an empty string', arg.range);
      continue;
    }
    const abs = path.posix.join('/', p.startsWith('/') ? '' : ctx.state.workdir, p);
    if (abs === '/') {
      error(ctx, 'lower/bad-argument', `REMOVE ${p} would delete the whole root filesystem`, arg.range);
      continue;
    }
    paths.push(abs);
  }
  if (paths.length > 0) addStep(ctx, { op: 'remove', paths });
}

function lowerInclude(ctx: Ctx): void {
  checkFlags(ctx);
  ctx.include(ctx);
}

function lowerFromInStage(ctx: Ctx): void {
  // FROM starts a stage; the lowerer splits stages before dispatch, so this only happens in a fragment.
  error(ctx, 'lower/bad-include', 'an INCLUDE fragment cannot contain FROM', node(ctx).keywordRange);
}

export const HANDLERS: Record<string, Handler> = {
  ADD: (ctx) => lowerCopyOrAdd(ctx, 'ADD'),
  ANNOTATION: (ctx) => lowerKeyValues(ctx, 'Annotations'),
  ARG: lowerArg,
  CMD: lowerCmd,
  COPY: (ctx) => lowerCopyOrAdd(ctx, 'COPY'),
  ENTRYPOINT: lowerEntrypoint,
  ENV: lowerEnv,
  EXPOSE: lowerExpose,
  FROM: lowerFromInStage,
  HEALTHCHECK: lowerHealthcheck,
  INCLUDE: lowerInclude,
  LABEL: (ctx) => lowerKeyValues(ctx, 'Labels'),
  MAINTAINER: lowerMaintainer,
  ONBUILD: lowerOnbuild,
  REMOVE: lowerRemove,
  RUN: lowerRun,
  SHELL: lowerShell,
  STOPSIGNAL: lowerStopSignal,
  USER: lowerUser,
  VOLUME: lowerVolume,
  WORKDIR: lowerWorkdir,
};

export type { At };
