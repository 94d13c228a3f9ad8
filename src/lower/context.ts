/**
 * Shared lowering state: where an instruction comes from (file and INCLUDE chain), the diagnostics
 * sink, and the per-stage build state (environment, ARG scope, WORKDIR, USER, SHELL…).
 */
import type { Diagnostic, DiagnosticNote, SourceRange } from '../diagnostics/diagnostic.js';
import type { InstructionNode } from '../syntax/ast.js';
import type { IncludeSite, Location, Step } from './ir.js';

/** One INCLUDE an instruction was spliced through. */
export interface IncludeFrame {
  /** The file holding the INCLUDE instruction. */
  file: string;
  range: SourceRange;
  /** What was included, as written (or the image or stage whose ONBUILD triggers run). */
  target: string;
  /** `onbuild`: the FROM that runs a base's ONBUILD triggers, rather than an INCLUDE. */
  via?: 'include' | 'onbuild';
}

/** An instruction with its origin. */
export interface Located {
  node: InstructionNode;
  file: string;
  /** Outermost INCLUDE first. */
  chain: IncludeFrame[];
}

export interface At {
  file: string;
  range: SourceRange;
  chain: IncludeFrame[];
}

export function at(located: Located, range: SourceRange = located.node.range): At {
  return { file: located.file, range, chain: located.chain };
}

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  /** One report per message and place: an ONBUILD trigger is checked in its stage and again where it
   * runs, a fragment INCLUDEd twice has the same problem twice; the first one (with its notes) stays. */
  private readonly seen = new Set<string>();

  report(
    severity: Diagnostic['severity'],
    code: string,
    message: string,
    where: At | undefined,
    extra: { suggestion?: string; notes?: DiagnosticNote[] } = {},
  ): Diagnostic {
    const notes: DiagnosticNote[] = [...(extra.notes ?? [])];
    if (where) {
      for (let i = where.chain.length - 1; i >= 0; i--) {
        const f = where.chain[i]!;
        notes.push({
          message:
            f.via === 'onbuild'
              ? `run from here as an ONBUILD trigger of ${f.target}`
              : `included from here (INCLUDE ${f.target})`,
          location: { file: f.file, range: f.range },
        });
      }
    }
    const d: Diagnostic = {
      severity,
      code,
      message,
      ...(where ? { location: { file: where.file, range: where.range } } : {}),
      ...(extra.suggestion !== undefined ? { suggestion: extra.suggestion } : {}),
      ...(notes.length > 0 ? { notes } : {}),
    };
    const key = JSON.stringify([d.severity, d.code, d.message, d.location]);
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.diagnostics.push(d);
    }
    return d;
  }

  error(
    code: string,
    message: string,
    where: At | undefined,
    extra?: { suggestion?: string; notes?: DiagnosticNote[] },
  ) {
    return this.report('error', code, message, where, extra);
  }

  warning(
    code: string,
    message: string,
    where: At | undefined,
    extra?: { suggestion?: string; notes?: DiagnosticNote[] },
  ) {
    return this.report('warning', code, message, where, extra);
  }
}

/**
 * The INCLUDE chain of an instruction from the root file (nearly all of them): one frozen empty
 * array for all, rather than one per instruction and per step (nothing changes these arrays).
 */
export const NO_CHAIN: IncludeFrame[] = Object.freeze([]) as unknown as IncludeFrame[];
const NO_SITES: IncludeSite[] = Object.freeze([]) as unknown as IncludeSite[];

export function locationOf(located: Located): Location {
  const chain: IncludeSite[] =
    located.chain.length === 0
      ? NO_SITES
      : located.chain.map((f) => ({
          file: f.file,
          line: f.range.start.line,
          column: f.range.start.column,
        }));
  return new StepLocation(located.node, located.file, chain);
}

/**
 * A step's location, its lines, columns and text read from the instruction when asked: every step
 * has one, and a check reads none of them (a build reads those of the steps it runs). It holds the
 * instruction node instead of five values and makes no source positions. It serializes as the
 * plain location does (same keys, same order).
 */
class StepLocation implements Location {
  constructor(
    private readonly node: InstructionNode,
    readonly file: string,
    readonly includeChain: IncludeSite[],
  ) {}

  get line(): number {
    return this.node.range.start.line;
  }

  get column(): number {
    return this.node.range.start.column;
  }

  get endLine(): number {
    return this.node.range.end.line;
  }

  get endColumn(): number {
    return this.node.range.end.column;
  }

  get text(): string {
    return this.node.original;
  }

  toJSON(): Location {
    const { start, end } = this.node.range;
    return {
      file: this.file,
      line: start.line,
      column: start.column,
      endLine: end.line,
      endColumn: end.column,
      text: this.node.original,
      includeChain: this.includeChain,
    };
  }
}

/** Where ARG values come from: the command line's build args, or an INCLUDE's KEY=VALUEs. */
export interface ArgSource {
  values: Map<string, string>;
  /** Keys an ARG consumed. */
  consumed: Set<string>;
  /** For an INCLUDE: the fragment's parameters (its ARGs), to check the KEY=VALUEs against. */
  declared?: Map<string, Located>;
}

/** A Map that counts its changes, so that RUNs can share one env list while nothing changed. */
export class EnvMap extends Map<string, string> {
  version = 0;
  override set(key: string, value: string): this {
    this.version++;
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    this.version++;
    return super.delete(key);
  }
  override clear(): void {
    this.version++;
    super.clear();
  }
}

export interface StageState {
  /** What expansion and RUN see: the base's env, then every ENV and ARG in order (Docker's state env). */
  env: EnvMap;
  /** Only what ENV set (and the base's config env): what a child stage inherits. */
  configEnv: Map<string, string>;
  /** ARG names declared in scope (with or without a value). */
  argKeys: Set<string>;
  /** False when the base is an image whose config is unknown (its env may define more variables). */
  envKnown: boolean;
  /**
   * Variables assumed for expansion only (Docker's default PATH when an image's config is unknown):
   * not passed to RUN, where the image's own value applies, until an ENV or ARG sets them.
   */
  assumed: Set<string>;
  workdir: string;
  user: string;
  shell: string[];
  /** A CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /** ONBUILD triggers of this stage, run at the start of stages built FROM it. */
  onbuild: Located[];
  steps: Step[];
  /** Stage ids this stage depends on, in first-use order. */
  deps: string[];
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * An empty array made for objects: `[]` starts as an array of small integers, and the optimized
 * code that pushes steps deoptimizes at the first step of each stage, when the array changes kind.
 */
function objectArray<T>(): T[] {
  const a: unknown[] = [undefined];
  a.pop();
  return a as T[];
}

export function newStageState(): StageState {
  return {
    env: new EnvMap(),
    configEnv: new Map(),
    argKeys: new Set(),
    envKnown: true,
    assumed: new Set(),
    workdir: '/',
    user: '',
    shell: [...DEFAULT_SHELL],
    cmdSet: false,
    onbuild: [],
    steps: objectArray<Step>(),
    deps: [],
  };
}
