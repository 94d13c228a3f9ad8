/** `rootc parse [--json] FILE`: the syntax tree, as JSON or a readable dump. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { hasErrors } from '../../diagnostics/diagnostic.js';
import { astToJson, dumpAst } from '../../syntax/dump.js';
import { parseRootfile } from '../../syntax/index.js';
import { knownSources, printDiagnostics, UsageError } from '../output.js';

export function readRootfile(file: string): string {
  if (file === '-') return readFileSync(0, 'utf8');
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description(
      'Parse a Rootfile and print its syntax tree (no lowering): keywords, flags, args as the builder receives them, heredocs',
    )
    .argument('<file>', 'the Rootfile ("-" for standard input)')
    .option('--json', 'print the tree as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const text = readRootfile(file);
      const name = file === '-' ? '<stdin>' : file;
      knownSources.set(name, text);
      const { ast, diagnostics } = parseRootfile(text, name);
      printDiagnostics(diagnostics);
      if (opts.json) process.stdout.write(`${JSON.stringify(astToJson(ast), null, 2)}\n`);
      else if (ast.instructions.length > 0) process.stdout.write(`${dumpAst(ast)}\n`);
      if (hasErrors(diagnostics)) process.exitCode = 1;
    });
}
