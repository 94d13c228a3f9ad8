/**
 * rootc's command line. Each subcommand lives in its own module under commands/ and registers itself
 * here; this file only wires commander, exit codes and the rendering of errors.
 * Exit codes: 0 ok, 1 build or check failed, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { DiagnosticError } from '../diagnostics/diagnostic.js';
import { commands } from './commands/index.js';
import { printDiagnostics, UsageError } from './output.js';

const program = new Command();
program
  .name('rootc')
  .description(
    'Compile a Rootfile into minimal, reproducible container images (rootfs tar, Docker, OCI, ACI).',
  )
  .version(process.env.npm_package_version ?? '0.1.0')
  .showSuggestionAfterError(true)
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeFor(err);
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version exit through here with code 0.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`rootc: ${err.message}\n`);
    return 2;
  }
  if (err instanceof DiagnosticError) {
    printDiagnostics(err.diagnostics);
    return 1;
  }
  // An unexpected failure is a bug in rootc: one line, and the stack only when asked for.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`rootc: internal error: ${message}\n`);
  if (process.env.ROOTC_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}
