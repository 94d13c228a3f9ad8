/**
 * `rootc lsp --stdio`: the language server for editors. The server module (and vscode-languageserver
 * with it) is imported only here, when the command runs, so other commands do not pay for loading it.
 */
import type { Command } from 'commander';
import { UsageError } from '../output.js';

export function registerLsp(program: Command): void {
  program
    .command('lsp')
    .description('Run the Rootfile language server (JSON-RPC over standard input and output)')
    .option('--stdio', 'talk over standard input and output (the only transport)')
    // Clients may add their own arguments (e.g. --clientProcessId=N, read by vscode-languageserver).
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts: { stdio?: boolean }) => {
      if (!opts.stdio) throw new UsageError('lsp: give --stdio (the only transport)');
      const { startServer } = await import('../../lsp/server.js');
      startServer();
    });
}
