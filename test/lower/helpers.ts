/** Test helpers: compile Rootfile text with in-memory INCLUDE files and a fixed platform. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { type CompileOptions, compileRootfile } from '../../src/lower/index.js';
import type { IR, RunStep, Stage, Step } from '../../src/lower/ir.js';

export const STDLIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../stdlib');

export interface Compiled {
  ir: IR | undefined;
  diagnostics: Diagnostic[];
  errors: string[];
  warnings: string[];
}

export function compile(
  text: string,
  opts: Partial<CompileOptions> & { files?: Record<string, string> } = {},
): Compiled {
  const files = opts.files ?? {};
  const { files: _files, ...rest } = opts;
  const r = compileRootfile('Rootfile', text, {
    buildArgs: {},
    stdlibDir: '/stdlib',
    platform: { os: 'linux', architecture: 'amd64' },
    readFile: (p) => files[p],
    ...rest,
  });
  return {
    ir: r.ir,
    diagnostics: r.diagnostics,
    errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
    warnings: r.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message),
  };
}

/** Compile and insist on success. */
export function ir(text: string, opts: Parameters<typeof compile>[1] = {}): IR {
  const c = compile(text, opts);
  if (!c.ir) throw new Error(`expected an IR, got: ${c.errors.join('; ')}`);
  return c.ir;
}

export function lastStage(i: IR): Stage {
  return i.stages[i.stages.length - 1]!;
}

export function steps(text: string, opts: Parameters<typeof compile>[1] = {}): Step[] {
  return lastStage(ir(text, opts)).steps;
}

export function runs(text: string, opts: Parameters<typeof compile>[1] = {}): RunStep[] {
  return steps(text, opts).filter((s): s is RunStep & { location: Step['location'] } => s.op === 'run');
}

/** The environment a RUN sees, as a record. */
export function envOf(run: RunStep): Record<string, string> {
  return Object.fromEntries(run.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}
