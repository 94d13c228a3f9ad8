/** `rootc ir FILE`: the lowered IR as JSON on stdout (docs/ir.md), diagnostics on stderr. */
import type { Command } from 'commander';
import { hasErrors } from '../../diagnostics/diagnostic.js';
import { printDiagnostics } from '../output.js';
import { collectBuildArg, compileFile } from './check.js';

export function registerIr(program: Command): void {
  program
    .command('ir')
    .description('Compile a Rootfile and print its IR (JSON, see docs/ir.md)')
    .argument('<file>', 'the Rootfile ("-" for standard input)')
    .option('--build-arg <KEY=VALUE>', 'set a build argument (repeatable)', collectBuildArg, {})
    .option('--target <stage>', 'the stage to build (default: the last one)')
    .action((file: string, opts: { buildArg: Record<string, string>; target?: string }) => {
      const { ir, diagnostics } = compileFile(file, {
        buildArgs: opts.buildArg,
        ...(opts.target !== undefined ? { target: opts.target } : {}),
      });
      printDiagnostics(diagnostics);
      if (hasErrors(diagnostics) || !ir) {
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${JSON.stringify(ir, null, 2)}\n`);
    });
}
