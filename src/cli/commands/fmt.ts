/** `rootc fmt [--check] [--stdout] FILE…`: canonical formatting, in place by default. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatRootfile } from '../../fmt/format.js';
import { knownSources, printDiagnostics, UsageError } from '../output.js';
import { readRootfile } from './parse.js';

export function registerFmt(program: Command): void {
  program
    .command('fmt')
    .description(
      'Format Rootfiles canonically (upper-case keywords, normalized spacing, flags and exec-form JSON, ' +
        'consistent continuation indent; heredoc bodies, comments and shell commands kept as written). ' +
        'Rewrites each FILE in place; files with syntax errors are left alone.',
    )
    .argument('<files...>', 'Rootfiles to format ("-" reads standard input and writes standard output)')
    .option('--check', 'write nothing; list the files that are not formatted and exit 1 if there are any')
    .option('--stdout', 'print the formatted text instead of rewriting the file')
    .action((files: string[], opts: { check?: boolean; stdout?: boolean }) => {
      if (files.length === 0) throw new UsageError('fmt: no file given');
      let failed = false;
      const unformatted: string[] = [];
      for (const file of files) {
        const text = readRootfile(file);
        const name = file === '-' ? '<stdin>' : file;
        knownSources.set(name, text);
        const { output, diagnostics } = formatRootfile(text, name);
        printDiagnostics(diagnostics.filter((d) => d.severity === 'error'));
        if (output === undefined) {
          failed = true;
          continue;
        }
        if (opts.check) {
          if (output !== text) unformatted.push(name);
        } else if (opts.stdout || file === '-') process.stdout.write(output);
        else if (output !== text) writeFileSync(file, output);
      }
      for (const f of unformatted) process.stdout.write(`${f}\n`);
      if (failed || unformatted.length > 0) process.exitCode = 1;
    });
}
