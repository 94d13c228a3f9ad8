/**
 * `rootc check FILE…`: parse and lower each Rootfile, print every diagnostic. Also the shared
 * "compile a Rootfile from disk" helper that `rootc ir` and `rootc build` use.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { type Diagnostic, hasErrors } from '../../diagnostics/diagnostic.js';
import type { IR } from '../../lower/index.js';
import { type CompileFileOptions, compileText } from '../compile.js';
import { knownSources, printDiagnostics, UsageError } from '../output.js';

// The shared compile path lives in ../compile.ts (the language server uses it too).
export { type CompileFileOptions, hostPlatform, STDLIB_DIR, stdlibNames } from '../compile.js';

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
  const result = compileText(name, text, opts);
  for (const [label, t] of result.sources) knownSources.set(label, t);
  return { ir: result.ir, diagnostics: result.diagnostics };
}

/**
 * V8 optimizes a function with TurboFan once it has run ~132 KB of bytecode. On a big file the
 * parser's and the lowering's functions all get there and are compiled (some twice), which costs more
 * CPU than the optimized code then saves in a single pass, on a second core that a loaded machine
 * does not have: rootc check of the bench's 10,000-instruction file, wall 750 -> 600 ms and CPU
 * 690 -> 540 ms at load ~3 with an interrupt budget of 1,000,000 (about 8x); a 50,000-instruction
 * file loses ~4%. The flag is set at run time, after start-up: on the command line any V8 flag makes
 * Node reject its built-in code cache (~15 ms for every command). Only for inputs of 128 KiB or more
 * (small ones never get hot), as loading node:v8 costs ~3 ms.
 */
function holdBackTurboFan(files: readonly string[]): void {
  let size = 0;
  for (const f of files) {
    if (f === '-') continue;
    try {
      size += statSync(f).size;
    } catch {
      // compileFile reports it
    }
  }
  if (size < 128 * 1024) return;
  const v8 = createRequire(import.meta.url)('node:v8') as typeof import('node:v8');
  v8.setFlagsFromString('--interrupt-budget=1000000');
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('Parse and lower Rootfiles, printing every error and warning (no build)')
    .argument('<files...>', 'Rootfiles to check ("-" for standard input)')
    .option('--build-arg <KEY=VALUE>', 'set a build argument (repeatable)', collectBuildArg, {})
    .option('--target <stage>', 'check as if building this stage')
    .action((files: string[], opts: { buildArg: Record<string, string>; target?: string }) => {
      holdBackTurboFan(files);
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
