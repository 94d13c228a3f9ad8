/**
 * `rootc check FILE…`: parse and lower each Rootfile, print every diagnostic. Also the shared
 * "compile a Rootfile from disk" helper that `rootc ir` and `rootc build` use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { type Diagnostic, hasErrors } from '../../diagnostics/diagnostic.js';
import { type CompileOptions, compileRootfile, type IR, type Platform } from '../../lower/index.js';
import { knownSources, printDiagnostics, UsageError } from '../output.js';

/** The stdlib fragments shipped with rootc (`stdlib/<name>.rootfile`). */
export const STDLIB_DIR = fileURLToPath(new URL('../../../stdlib/', import.meta.url));

export function stdlibNames(dir = STDLIB_DIR): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.rootfile'))
      .map((f) => f.slice(0, -'.rootfile'.length))
      .sort();
  } catch {
    return [];
  }
}

/** The machine's platform, in Docker's names. */
export function hostPlatform(): Platform {
  const arch: Record<string, Platform> = {
    x64: { os: 'linux', architecture: 'amd64' },
    arm64: { os: 'linux', architecture: 'arm64' },
    arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
    ia32: { os: 'linux', architecture: '386' },
    ppc64: { os: 'linux', architecture: 'ppc64le' },
    s390x: { os: 'linux', architecture: 's390x' },
    riscv64: { os: 'linux', architecture: 'riscv64' },
  };
  return arch[process.arch] ?? { os: 'linux', architecture: process.arch };
}

/** `--build-arg K=V` (repeatable); `--build-arg K` takes K from the environment, as docker build does. */
export function collectBuildArg(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq === 0) throw new UsageError(`--build-arg needs KEY=VALUE, not "${value}"`);
  if (eq < 0) {
    const fromEnv = process.env[value];
    return fromEnv === undefined ? previous : { ...previous, [value]: fromEnv };
  }
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function readRootfileText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function readIncluded(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface CompileFileOptions {
  buildArgs?: Record<string, string>;
  target?: string;
  baseConfig?: CompileOptions['baseConfig'];
}

/**
 * Read, parse and lower a Rootfile from disk (INCLUDEs read relative to it, the stdlib from rootc's
 * own directory); registers the texts for diagnostic excerpts.
 */
export function compileFile(
  file: string,
  opts: CompileFileOptions = {},
): { ir: IR | undefined; diagnostics: Diagnostic[] } {
  const name = file === '-' ? '<stdin>' : file;
  const text = readRootfileText(file);
  knownSources.set(name, text);
  const result = compileRootfile(name, text, {
    buildArgs: opts.buildArgs ?? {},
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    readFile: readIncluded,
    stdlibDir: STDLIB_DIR,
    stdlibNames: stdlibNames(),
    platform: hostPlatform(),
    ...(opts.baseConfig ? { baseConfig: opts.baseConfig } : {}),
  });
  for (const [label, t] of result.sources) knownSources.set(label, t);
  return { ir: result.ir, diagnostics: result.diagnostics };
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('Parse and lower Rootfiles, printing every error and warning (no build)')
    .argument('<files...>', 'Rootfiles to check ("-" for standard input)')
    .option('--build-arg <KEY=VALUE>', 'set a build argument (repeatable)', collectBuildArg, {})
    .option('--target <stage>', 'check as if building this stage')
    .action((files: string[], opts: { buildArg: Record<string, string>; target?: string }) => {
      let failed = false;
      for (const file of files) {
        const { diagnostics } = compileFile(file, {
          buildArgs: opts.buildArg,
          ...(opts.target !== undefined ? { target: opts.target } : {}),
        });
        printDiagnostics(diagnostics);
        if (hasErrors(diagnostics)) failed = true;
      }
      if (failed) process.exitCode = 1;
    });
}
