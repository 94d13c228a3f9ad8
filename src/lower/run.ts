/** RUN, CMD, ENTRYPOINT and SHELL: commands, exec or shell form, and RUN's heredocs. */
import path from 'node:path';
import type { InstructionNode } from '../syntax/ast.js';
import type { StageState } from './context.js';
import { INSTRUCTION_FLAGS } from './flags.js';
import {
  addStep,
  type Ctx,
  checkFlags,
  config,
  error,
  HEREDOC_WORD,
  here,
  node,
} from './instruction-context.js';
import type { InlineFile, NetworkMode } from './ir.js';

function shellScript(n: InstructionNode): string {
  // Shell form has one arg (the parser joins the line); a node made otherwise may have more.
  if (n.args.length === 1) return n.args[0]!.value;
  return n.args.map((a) => a.value).join(' ');
}

/** The `inlineFiles` of RUNs without a shebang heredoc (nearly all): one frozen empty array. */
const NO_FILES: InlineFile[] = Object.freeze([]) as unknown as InlineFile[];

/** The environment of a RUN; consecutive RUNs with no ENV/ARG between them share one array. */
const envCache = new WeakMap<StageState, { version: number; list: string[] }>();

function runEnv(state: StageState): string[] {
  const cached = envCache.get(state);
  if (cached && cached.version === state.env.version) return cached.list;
  const all: string[] = [];
  const assumed = state.assumed;
  state.env.forEach((v, k) => {
    if (!assumed.has(k)) all.push(`${k}=${v}`);
  });
  // slice: RUN steps keep the list, and an array grown with push has room for 17.
  const list = all.slice();
  envCache.set(state, { version: state.env.version, list });
  return list;
}

export function lowerRun(ctx: Ctx): void {
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
  let inlineFiles: InlineFile[] = NO_FILES;
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
          inlineFiles = [{ path: file, content: first.content, mode: 0o755 }];
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
    // concat makes an exact array; a spread literal grows one with push (room for 20).
    argv = ctx.state.shell.concat(script);
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
    location: here(ctx),
  });
}

function commandLine(ctx: Ctx): string[] {
  const n = node(ctx);
  if (n.json) return n.args.map((a) => a.value);
  return ctx.state.shell.concat(shellScript(n));
}

export function lowerCmd(ctx: Ctx): void {
  checkFlags(ctx);
  ctx.state.cmdSet = true;
  config(ctx, { field: 'Cmd', cmd: commandLine(ctx) });
}

export function lowerEntrypoint(ctx: Ctx): void {
  checkFlags(ctx);
  const n = node(ctx);
  const entrypoint = n.json && n.args.length === 0 ? null : commandLine(ctx);
  config(ctx, { field: 'Entrypoint', entrypoint, resetCmd: !ctx.state.cmdSet });
}

export function lowerShell(ctx: Ctx): void {
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
