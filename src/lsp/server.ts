/**
 * `rootc lsp --stdio`: the language server. Wires vscode-languageserver to the feature modules;
 * each request reads the document's cached analysis (analysis.ts), computed at most once per
 * version with the same code as `rootc check`. Logs go through the connection, never to stdout.
 */
import {
  CodeActionKind,
  type Connection,
  createConnection,
  ProposedFeatures,
  TextDocumentSyncKind,
  TextDocuments,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { type Analysis, AnalysisCache } from './analysis.js';
import { quickFixes } from './codeactions.js';
import { complete } from './completion.js';
import { definition } from './definition.js';
import { toLspDiagnostics } from './diagnostics.js';
import { formatDocument } from './formatting.js';
import { hover } from './hover.js';
import { documentSymbols } from './symbols.js';

/** How long to wait after a change before re-checking (typing bursts are checked once). */
const DIAGNOSTICS_DELAY_MS = 50;

export function startServer(connection: Connection = createConnection(ProposedFeatures.all)): Connection {
  const documents = new TextDocuments(TextDocument);
  const cache = new AnalysisCache();
  const timers = new Map<string, NodeJS.Timeout>();

  const analysis = (uri: string): Analysis | undefined => {
    const doc = documents.get(uri);
    return doc ? cache.get(uri, doc.version, () => doc.getText()) : undefined;
  };
  /** Run a feature on a document, logging (not throwing) a bug in it. */
  const withDoc = <T>(uri: string, empty: T, f: (a: Analysis) => T): T => {
    try {
      const a = analysis(uri);
      return a ? f(a) : empty;
    } catch (e) {
      connection.console.error(`rootc lsp: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return empty;
    }
  };
  const validate = (uri: string) => {
    clearTimeout(timers.get(uri));
    timers.delete(uri);
    const a = withDoc(uri, undefined, (x) => x);
    if (a) void connection.sendDiagnostics({ uri, version: a.version, diagnostics: toLspDiagnostics(a) });
  };

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: true },
      completionProvider: { triggerCharacters: ['-', '=', '{', '$', ' '] },
      hoverProvider: true,
      definitionProvider: true,
      documentSymbolProvider: true,
      documentFormattingProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
    },
    serverInfo: { name: 'rootc', version: process.env.npm_package_version ?? '0.1.0' },
  }));

  // Fired on open too (TextDocuments reports an opened document as changed content).
  documents.onDidChangeContent((e) => {
    const uri = e.document.uri;
    clearTimeout(timers.get(uri));
    timers.set(
      uri,
      setTimeout(() => validate(uri), DIAGNOSTICS_DELAY_MS),
    );
  });
  // INCLUDEd fragments are read from disk: when one is saved, re-check the open files that INCLUDE.
  documents.onDidSave((e) => {
    for (const doc of documents.all()) {
      if (doc.uri === e.document.uri || !/^\s*(onbuild\s+)?include\s/im.test(doc.getText())) continue;
      cache.delete(doc.uri);
      validate(doc.uri);
    }
  });
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    cache.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  const offsetOf = (a: Analysis, p: { line: number; character: number }) => a.lines.offset(p);
  connection.onCompletion((p) =>
    withDoc(p.textDocument.uri, [], (a) => complete(a, offsetOf(a, p.position))),
  );
  connection.onHover((p) => withDoc(p.textDocument.uri, null, (a) => hover(a, offsetOf(a, p.position))));
  connection.onDefinition((p) =>
    withDoc(p.textDocument.uri, null, (a) => definition(a, offsetOf(a, p.position))),
  );
  connection.onDocumentSymbol((p) => withDoc(p.textDocument.uri, [], documentSymbols));
  connection.onDocumentFormatting((p) => withDoc(p.textDocument.uri, [], formatDocument));
  connection.onCodeAction((p) =>
    withDoc(p.textDocument.uri, [], (a) => quickFixes(a, p.context.diagnostics)),
  );

  documents.listen(connection);
  connection.listen();
  return connection;
}
