/**
 * The lowering driver: splits the Rootfile into the global ARGs and stages, computes the global ARG
 * values, lowers each stage's instructions (splicing INCLUDEs and ONBUILD triggers), then keeps the
 * stages the target needs, dependencies first. Never throws: a bug becomes an internal diagnostic.
 */
import path from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { EscapeChar, ParseResult, RootfileAst } from '../syntax/ast.js';
import {
  type ArgSource,
  at,
  DEFAULT_PATH,
  type IncludeFrame,
  type Located,
  locationOf,
  NO_CHAIN,
  newStageState,
  Reporter,
  type StageState,
} from './context.js';
import { expandWord } from './expand.js';
import { lowerFrom } from './from.js';
import { type FileRef, type IncludeEntry, spliceInclude } from './include.js';
import { pairsOf } from './instruction-context.js';
import { type Ctx, HANDLERS, type StageRef } from './instructions.js';
import { type Base, type IR, IR_VERSION, type Platform, type Stage } from './ir.js';
import { stagesFor } from './stages.js';
import { closest } from './suggest.js';

/** What lowering knows about a base image's config when the caller resolved it (optional). */
export interface BaseImageConfig {
  env?: string[];
  workingDir?: string;
  user?: string;
  shell?: string[];
  onBuild?: string[];
}

export interface LowerOptions {
  /** `--build-arg K=V` values. */
  buildArgs: Record<string, string>;
  /** `--target`: the stage to build (default: the last one). */
  target?: string;
  /** Reads an INCLUDEd file (a stdlib fragment or a path); undefined when it does not exist. */
  readFile: (path: string) => string | undefined;
  /** Directory of the stdlib fragments (`<name>.rootfile`). */
  stdlibDir: string;
  /** The parser, injected (fragments and base-image ONBUILD triggers are parsed with it). */
  parse: (text: string, file: string) => ParseResult;
  /** Names of the stdlib fragments, for "did you mean" on an unknown one. */
  stdlibNames?: readonly string[];
  /** Target platform for TARGETPLATFORM & co (default linux/amd64). */
  platform?: Platform;
  /** Build platform for BUILDPLATFORM & co (default: the target platform). */
  buildPlatform?: Platform;
  /**
   * The config of a base image, when the caller has resolved it. Without it, variables that an image
   * base's config would define are unknown at compile time (no undefined-variable warnings then).
   */
  baseConfig?: (base: Base) => BaseImageConfig | undefined;
}

export interface LowerResult {
  ir: IR | undefined;
  diagnostics: Diagnostic[];
  /** Texts of the INCLUDEd files, by the file name used in diagnostics (for rendering excerpts). */
  sources: Map<string, string>;
}

const PROXY_ARGS = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** BuildKit's predefined global ARGs. */
export function predefinedArgs(target: Platform, build: Platform): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', platformString(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', platformString(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/** BuildKit's check rule names for the warnings lowering emits (`# check=skip=UndefinedVar,…`). */
const CHECK_RULES: Record<string, string[]> = {
  undefinedvar: ['lower/undefined-variable', 'lower/unknown-base-variable'],
  undefinedarginfrom: ['lower/undefined-arg-in-from'],
  reservedstagename: ['lower/reserved-stage-name'],
};

/** The warning codes a `# check=skip=…` directive turns off (`all` for every warning). */
export function skippedChecks(ast: RootfileAst): Set<string> {
  const out = new Set<string>();
  for (const d of ast.directives) {
    if (d.name.toLowerCase() !== 'check') continue;
    for (const part of d.value.split(';')) {
      const [k, v] = part.split('=', 2).map((x) => x.trim());
      if (k?.toLowerCase() !== 'skip' || !v) continue;
      for (const rule of v.split(',').map((x) => x.trim().toLowerCase())) {
        if (rule === 'all') out.add('all');
        for (const code of CHECK_RULES[rule] ?? []) out.add(code);
      }
    }
  }
  return out;
}

interface StageRec extends StageRef {
  from: Located;
  base: Base | undefined;
  platform?: string;
  state: StageState;
  /** Index range of this stage's diagnostics in the reporter. */
  diagnostics: [number, number];
}

export class Lowerer {
  private readonly r = new Reporter();
  private readonly sources = new Map<string, string>();
  private readonly files = new Map<string, FileRef>();
  private readonly includeStack: IncludeEntry[] = [];
  private readonly platform: Platform;
  private readonly globals: Map<string, string>;
  private readonly buildArgs: ArgSource;
  private stages: StageRec[] = [];

  constructor(
    private readonly ast: RootfileAst,
    private readonly options: LowerOptions,
  ) {
    this.platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
    this.globals = predefinedArgs(this.platform, options.buildPlatform ?? this.platform);
    this.buildArgs = { values: new Map(Object.entries(options.buildArgs ?? {})), consumed: new Set() };
    this.files.set(ast.file, { label: ast.file, path: path.normalize(ast.file) });
  }

  run(): LowerResult {
    let ir: IR | undefined;
    try {
      ir = this.lower();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.r.error('lower/internal-error', `internal error while lowering: ${message}`, undefined);
    }
    const failed = this.r.diagnostics.some((d) => d.severity === 'error');
    const skipped = skippedChecks(this.ast);
    const diagnostics = this.r.diagnostics.filter(
      (d) => d.severity !== 'warning' || !(skipped.has('all') || skipped.has(d.code)),
    );
    return { ir: failed ? undefined : ir, diagnostics, sources: this.sources };
  }

  private lower(): IR | undefined {
    const ast = this.ast;
    const meta: Located[] = [];
    // Each stage: its FROM and the instructions after it, [start, end) in ast.instructions (their
    // Located objects are made as they are lowered, not kept for the whole lowering).
    const list = ast.instructions;
    const raw: { from: Located; start: number; end: number }[] = [];
    for (let i = 0; i < list.length; i++) {
      const node = list[i]!;
      const kw = node.keyword.toUpperCase();
      if (kw === 'FROM') {
        raw.push({ from: { node, file: ast.file, chain: NO_CHAIN }, start: i + 1, end: i + 1 });
        continue;
      }
      if (raw.length > 0) {
        raw[raw.length - 1]!.end = i + 1;
        continue;
      }
      const located: Located = { node, file: ast.file, chain: NO_CHAIN };
      if (kw === 'ARG') meta.push(located);
      else {
        this.r.error(
          'lower/instruction-before-from',
          `${kw} must come after FROM: only ARG may come before the first FROM`,
          at(located, node.keywordRange),
        );
      }
    }
    if (raw.length === 0) {
      const zero = { offset: 0, line: 1, column: 1 };
      this.r.error('lower/no-stages', 'the Rootfile has no FROM: nothing to build', {
        file: ast.file,
        range: { start: zero, end: zero },
        chain: [],
      });
      return undefined;
    }

    for (const m of meta) this.lowerMetaArg(m);

    // Pass 1: every FROM, so that COPY --from can name any stage.
    const names = new Map<string, string>();
    const firstByName = new Map<string, Located>();
    raw.forEach((st, index) => {
      const from = lowerFrom(st.from, this.r, this.globals, ast.escape, names);
      let id = `stage-${index}`;
      if (from.name !== undefined) {
        const first = firstByName.get(from.name);
        if (first) {
          this.r.error(
            'lower/duplicate-stage',
            `duplicate stage name "${from.name}"`,
            at(st.from, from.nameRange),
            {
              notes: [
                {
                  message: `"${from.name}" first defined here`,
                  location: { file: first.file, range: first.node.range },
                },
              ],
            },
          );
        } else {
          id = from.name;
          names.set(from.name, id);
          firstByName.set(from.name, st.from);
        }
      }
      this.stages.push({
        id,
        ...(from.name !== undefined && id === from.name ? { name: from.name } : {}),
        index,
        from: st.from,
        base: from.base,
        ...(from.platform ? { platform: from.platform } : {}),
        state: newStageState(),
        diagnostics: [0, 0],
      });
    });

    // An unnamed stage's id must not be the name of another stage (`FROM x AS stage-1`).
    for (const s of this.stages) if (s.name === undefined && names.has(s.id)) s.id = `${s.id}-unnamed`;

    // Pass 2: the instructions of each stage, in order (a base stage always comes first).
    raw.forEach((st, i) => {
      const rec = this.stages[i]!;
      const start = this.r.diagnostics.length;
      const triggers = this.initState(rec);
      for (const t of triggers) this.dispatch(t, rec, this.buildArgs, ast.escape);
      for (let k = st.start; k < st.end; k++) {
        const located: Located = { node: list[k]!, file: ast.file, chain: NO_CHAIN };
        this.dispatch(located, rec, this.buildArgs, ast.escape);
      }
      rec.diagnostics = [start, this.r.diagnostics.length];
    });

    // The target and the stages it needs.
    let target = this.stages[this.stages.length - 1]!;
    if (this.options.target !== undefined) {
      const wanted = this.options.target.toLowerCase();
      const found = this.stages.find((s) => s.name === wanted);
      if (!found) {
        const stageNames = this.stages.flatMap((s) => (s.name ? [s.name] : []));
        const guess = closest(wanted, stageNames);
        this.r.error(
          'lower/unknown-target',
          `target stage "${this.options.target}" could not be found${guess ? ` (did you mean ${guess}?)` : stageNames.length > 0 ? `; stages: ${stageNames.join(', ')}` : ''}`,
          undefined,
          guess ? { suggestion: guess } : {},
        );
        return undefined;
      }
      target = found;
    }
    const ordered = stagesFor(
      target.id,
      this.stages.map((s) => ({ id: s.id, deps: s.state.deps })),
    );
    if (!ordered.ok) {
      const first = this.stages.find((s) => s.id === ordered.cycle[0])!;
      this.r.error(
        'lower/circular-dependency',
        `circular dependency between stages: ${ordered.cycle.join(' → ')}`,
        at(first.from, first.from.node.keywordRange),
      );
      return undefined;
    }
    const needed = new Set(ordered.order);

    // `${V:?}` only fails the stages the build needs (Docker does not expand the others).
    const drop = new Set<Diagnostic>();
    for (const s of this.stages) {
      if (needed.has(s.id)) continue;
      for (let k = s.diagnostics[0]; k < s.diagnostics[1]; k++) {
        const d = this.r.diagnostics[k]!;
        if (d.code === 'lower/required-variable') drop.add(d);
      }
    }
    if (drop.size > 0) {
      const kept = this.r.diagnostics.filter((d) => !drop.has(d));
      this.r.diagnostics.length = 0;
      this.r.diagnostics.push(...kept);
    }

    this.warnUnusedBuildArgs();

    const proxyEnv: Record<string, string> = {};
    for (const k of PROXY_ARGS) {
      const v = this.buildArgs.values.get(k);
      if (v !== undefined) proxyEnv[k] = v;
    }
    const stages: Stage[] = [];
    for (const id of ordered.order) {
      const s = this.stages.find((x) => x.id === id)!;
      if (!s.base) return undefined;
      stages.push({
        id: s.id,
        ...(s.name !== undefined ? { name: s.name } : {}),
        index: s.index,
        base: s.base,
        ...(s.platform !== undefined ? { platform: s.platform } : {}),
        dependsOn: [...s.state.deps],
        location: locationOf(s.from),
        steps: s.state.steps,
      });
    }
    return {
      version: IR_VERSION,
      file: ast.file,
      target: target.id,
      platform: this.platform,
      proxyEnv,
      stages,
    };
  }

  /** An ARG before the first FROM: build arg, else its default expanded with the globals so far. */
  private lowerMetaArg(located: Located): void {
    const n = located.node;
    for (const f of n.flags)
      this.r.error('lower/unknown-flag', `unknown flag --${f.name} for ARG`, at(located, f.range));
    const pairs = pairsOf(n);
    for (const p of pairs) {
      const key = p.key.value;
      if (key === '') {
        this.r.error('lower/bad-argument', 'ARG names can not be blank', at(located, p.key.range));
        continue;
      }
      if (this.buildArgs.values.has(key)) {
        this.buildArgs.consumed.add(key);
        this.globals.set(key, this.buildArgs.values.get(key)!);
      } else if (p.value !== undefined) {
        const r = expandWord(p.value.raw, this.globals, { escapeToken: this.ast.escape });
        if (!r.ok) {
          this.r.error(
            r.required ? 'lower/required-variable' : 'lower/bad-substitution',
            r.message,
            at(located, p.value.range),
          );
          continue;
        }
        this.globals.set(key, r.value);
      }
    }
  }

  /** The state a stage starts from; returns the ONBUILD triggers to run first. */
  private initState(rec: StageRec): Located[] {
    const state = rec.state;
    const base = rec.base;
    if (!base) return [];
    if (base.kind === 'stage') {
      const parent = this.stages.find((s) => s.id === base.stage)!;
      const p = parent.state;
      for (const k of p.assumed) {
        state.env.set(k, p.env.get(k) ?? '');
        state.assumed.add(k);
      }
      for (const [k, v] of p.configEnv) {
        state.env.set(k, v);
        state.configEnv.set(k, v);
        state.assumed.delete(k);
      }
      state.envKnown = p.envKnown;
      state.workdir = p.workdir;
      state.user = p.user;
      state.shell = [...p.shell];
      state.deps.push(parent.id);
      const frame: IncludeFrame = {
        file: rec.from.file,
        range: rec.from.node.range,
        target: parent.id,
        via: 'onbuild',
      };
      return p.onbuild.map((t) => ({ ...t, chain: [...t.chain, frame] }));
    }
    if (
      base.kind === 'image' ||
      base.kind === 'docker-archive' ||
      base.kind === 'oci' ||
      base.kind === 'aci'
    ) {
      // Existing images carry a config (Env, WorkingDir, User, Shell, ONBUILD) that the caller may have read.
      const cfg = this.options.baseConfig?.(base);
      if (!cfg) {
        // Unknown config: assume Docker's default PATH (what nearly every image sets) so that
        // `ENV PATH=/x:$PATH` keeps working; other variables of the image are unknown.
        state.envKnown = false;
        state.env.set('PATH', DEFAULT_PATH);
        state.assumed.add('PATH');
        return [];
      }
      for (const e of cfg.env ?? []) {
        const i = e.indexOf('=');
        const k = i < 0 ? e : e.slice(0, i);
        const v = i < 0 ? '' : e.slice(i + 1);
        state.env.set(k, v);
        state.configEnv.set(k, v);
      }
      if (cfg.workingDir) state.workdir = cfg.workingDir;
      if (cfg.user) state.user = cfg.user;
      if (cfg.shell && cfg.shell.length > 0) state.shell = [...cfg.shell];
      return (cfg.onBuild ?? []).flatMap((trigger, k) =>
        this.parseTrigger(trigger, base.kind === 'image' ? base.original : base.path, k, rec.from),
      );
    }
    // scratch and rootc's source kinds: an empty config, with Docker's default PATH.
    state.env.set('PATH', DEFAULT_PATH);
    state.configEnv.set('PATH', DEFAULT_PATH);
    return [];
  }

  private parseTrigger(trigger: string, image: string, k: number, from: Located): Located[] {
    const label = `<onbuild ${image} #${k + 1}>`;
    this.sources.set(label, trigger);
    const parsed = this.options.parse(trigger, label);
    this.r.diagnostics.push(...parsed.diagnostics);
    const frame: IncludeFrame = {
      file: from.file,
      range: from.node.range,
      target: image,
      via: 'onbuild',
    };
    return parsed.ast.instructions.map((node) => ({ node, file: label, chain: [...from.chain, frame] }));
  }

  private dispatch(located: Located, rec: StageRec, args: ArgSource, escapeChar: EscapeChar): void {
    const kw = located.node.keyword.toUpperCase();
    const handler = HANDLERS[kw];
    if (!handler) {
      const guess = closest(kw, Object.keys(HANDLERS));
      this.r.error(
        'lower/unknown-instruction',
        `unknown instruction ${located.node.keyword}${guess ? ` (did you mean ${guess}?)` : ''}`,
        at(located, located.node.keywordRange),
        guess ? { suggestion: guess } : {},
      );
      return;
    }
    const ctx: Ctx = {
      r: this.r,
      located,
      state: rec.state,
      stage: rec,
      stages: this.stages,
      escape: escapeChar,
      args,
      globals: this.globals,
      include: (c) =>
        spliceInclude(
          {
            r: this.r,
            rootFile: this.ast.file,
            files: this.files,
            stack: this.includeStack,
            sources: this.sources,
            options: this.options,
            dispatch: (located, args, escapeChar) => this.dispatch(located, rec, args, escapeChar),
          },
          c,
          rec.state,
        ),
    };
    try {
      handler(ctx);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.r.error('lower/internal-error', `internal error while lowering ${kw}: ${message}`, at(located));
    }
  }

  private warnUnusedBuildArgs(): void {
    const unused = [...this.buildArgs.values.keys()].filter(
      (k) =>
        !this.buildArgs.consumed.has(k) &&
        !PROXY_ARGS.includes(k) &&
        !this.globals.has(k) &&
        !k.startsWith('BUILDKIT_'),
    );
    if (unused.length === 0) return;
    this.r.warning(
      'lower/unused-build-arg',
      `build argument${unused.length > 1 ? 's' : ''} ${unused.join(', ')} ${unused.length > 1 ? 'were' : 'was'} not consumed: no ARG declares ${unused.length > 1 ? 'them' : 'it'}`,
      undefined,
    );
  }
}
