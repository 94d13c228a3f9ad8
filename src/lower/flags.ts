/**
 * Instruction flags (`--name=value`), checked like BuildKit's BFlags: which flags each instruction
 * takes, booleans, values required, no duplicates except for repeatable flags, and "did you mean".
 */
import type { Flag, InstructionNode } from '../syntax/ast.js';
import { closest } from './suggest.js';

export type FlagKind = 'bool' | 'string' | 'multi';

/** The flags each instruction accepts. FROM's kind-specific flags are added by the FROM lowering. */
export const INSTRUCTION_FLAGS: Record<string, Record<string, FlagKind>> = {
  RUN: { mount: 'multi', network: 'string', security: 'string', device: 'multi' },
  COPY: {
    from: 'string',
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    parents: 'bool',
    exclude: 'multi',
    deps: 'bool',
  },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    checksum: 'string',
    'keep-git-dir': 'bool',
    exclude: 'multi',
    unpack: 'bool',
  },
  FROM: { platform: 'string' },
  HEALTHCHECK: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

export interface FlagProblem {
  code: string;
  message: string;
  flag: Flag;
  suggestion?: string;
}

export interface ParsedFlags {
  /** Last value of each string flag given. */
  strings: Map<string, { value: string; flag: Flag }>;
  /** Every value of each repeatable flag. */
  multi: Map<string, { value: string; flag: Flag }[]>;
  bools: Map<string, { value: boolean; flag: Flag }>;
  problems: FlagProblem[];
}

/** The result for an instruction without flags (most of them), shared: callers only read it. */
const NO_FLAGS: ParsedFlags = { strings: new Map(), multi: new Map(), bools: new Map(), problems: [] };

export function parseFlags(
  node: Pick<InstructionNode, 'keyword' | 'flags'>,
  allowed: Record<string, FlagKind>,
): ParsedFlags {
  if (node.flags.length === 0) return NO_FLAGS;
  const out: ParsedFlags = { strings: new Map(), multi: new Map(), bools: new Map(), problems: [] };
  const seen = new Set<string>();
  for (const flag of node.flags) {
    const kind = allowed[flag.name];
    if (kind === undefined) {
      const names = Object.keys(allowed);
      const guess = closest(flag.name, names);
      const accepted =
        names.length === 0
          ? `${node.keyword} takes no flags`
          : `${node.keyword} accepts ${names.map((n) => `--${n}`).join(', ')}`;
      out.problems.push({
        code: 'lower/unknown-flag',
        message: guess
          ? `unknown flag --${flag.name} for ${node.keyword} (did you mean --${guess}?)`
          : `unknown flag --${flag.name} for ${node.keyword}; ${accepted}`,
        flag,
        ...(guess ? { suggestion: `--${guess}` } : {}),
      });
      continue;
    }
    if (kind !== 'multi' && seen.has(flag.name)) {
      out.problems.push({ code: 'lower/duplicate-flag', message: `duplicate flag --${flag.name}`, flag });
      continue;
    }
    seen.add(flag.name);
    if (kind === 'bool') {
      const v = flag.value === undefined ? 'true' : flag.value.toLowerCase();
      if (v !== 'true' && v !== 'false') {
        out.problems.push({
          code: 'lower/bad-flag-value',
          message: `--${flag.name} expects true or false, not "${flag.value}"`,
          flag,
        });
        continue;
      }
      out.bools.set(flag.name, { value: v === 'true', flag });
      continue;
    }
    if (flag.value === undefined) {
      out.problems.push({
        code: 'lower/missing-flag-value',
        message: `--${flag.name} needs a value (--${flag.name}=…)`,
        flag,
      });
      continue;
    }
    if (kind === 'multi') {
      const list = out.multi.get(flag.name) ?? [];
      list.push({ value: flag.value, flag });
      out.multi.set(flag.name, list);
    } else {
      out.strings.set(flag.name, { value: flag.value, flag });
    }
  }
  return out;
}
