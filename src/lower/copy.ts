/** COPY, ADD and REMOVE: sources (context, stage, image, host, URL, heredoc), destination, flags. */
import path from 'node:path';
import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { Arg, Heredoc, InstructionNode } from '../syntax/ast.js';
import { INSTRUCTION_FLAGS } from './flags.js';
import {
  addStep,
  type Ctx,
  checkFlags,
  error,
  expandArg,
  expandIn,
  HEREDOC_WORD,
  here,
  node,
} from './instruction-context.js';
import type { AddSource, CopyFrom, CopySource } from './ir.js';
import { normalizeImageRef } from './reference.js';
import { closest } from './suggest.js';
import { isGitUrl, isUrl, parseChecksum, parseChmod, parseUser } from './values.js';

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

export function lowerCopyOrAdd(ctx: Ctx, kind: 'COPY' | 'ADD'): void {
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
      location: here(ctx),
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
    location: here(ctx),
  });
}

/** Docker's destination rule: relative to WORKDIR, and a trailing `/` (or `.`) means a directory. */
export function destination(workdir: string, dest: string): string {
  const joined = path.posix.join('/', dest.startsWith('/') ? '' : workdir, dest);
  const isDir = dest === '.' || dest === '' || dest.endsWith('/') || dest.endsWith('/.');
  if (isDir && !joined.endsWith('/')) return `${joined}/`;
  return joined;
}

export function lowerRemove(ctx: Ctx): void {
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
  if (paths.length > 0) addStep(ctx, { op: 'remove', paths, location: here(ctx) });
}
