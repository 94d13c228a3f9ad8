/**
 * The Rootfile extension's client: starts `rootc lsp --stdio` (the `rootfile.server.path` setting,
 * default `rootc` on PATH) with vscode-languageclient and restarts it when the setting changes.
 * Highlighting comes from the TextMate grammar alone, so it works without rootc installed.
 */
import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

let client: LanguageClient | undefined;

function serverOptions(): ServerOptions {
  const config = vscode.workspace.getConfiguration('rootfile');
  const command = config.get<string>('server.path')?.trim() || 'rootc';
  const extra = config.get<string[]>('server.extraArgs') ?? [];
  // No `transport` here: the client would add its own `--stdio`; rootc gets the arguments as given.
  return { command, args: ['lsp', '--stdio', ...extra] };
}

async function start(): Promise<void> {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'rootfile' },
      { scheme: 'untitled', language: 'rootfile' },
    ],
    outputChannelName: 'Rootfile',
  };
  client = new LanguageClient('rootfile', 'Rootfile language server', serverOptions(), clientOptions);
  try {
    await client.start();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    void vscode.window.showWarningMessage(
      `Rootfile: could not start "${serverOptions().command} lsp --stdio" (${message}). Set rootfile.server.path to the rootc executable.`,
    );
  }
}

async function restart(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) await old.stop().catch(() => undefined);
  await start();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand('rootfile.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('rootfile.server')) void restart();
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
