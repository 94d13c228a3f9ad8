/**
 * Language-server test helpers (Langium's style): a test opens a document whose text marks the
 * cursor with `<|>` (and, for definitions, the expected target with `«…»`), asks the server and
 * checks the answer, so each feature test is about three lines. The server is the real one,
 * spawned as `node bin/rootc.js lsp --stdio` and spoken to over JSON-RPC as an editor does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import {
  type CodeAction,
  CodeActionRequest,
  type CompletionItem,
  CompletionRequest,
  DefinitionRequest,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DidSaveTextDocumentNotification,
  DocumentFormattingRequest,
  type DocumentSymbol,
  DocumentSymbolRequest,
  ExitNotification,
  type Hover,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  type Location,
  type Diagnostic as LspDiagnostic,
  type Position,
  PublishDiagnosticsNotification,
  type PublishDiagnosticsParams,
  ShutdownRequest,
  type TextEdit,
} from 'vscode-languageserver-protocol';
import {
  createProtocolConnection,
  type ProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { repoRoot } from '../support/index.js';

export const CURSOR = '<|>';

/** A running `rootc lsp --stdio` and a client connection to it. */
export class LspClient {
  readonly connection: ProtocolConnection;
  private readonly diagnostics = new Map<string, PublishDiagnosticsParams[]>();
  private readonly waiters: (() => void)[] = [];
  private versions = new Map<string, number>();
  readonly dir = mkdtempSync(path.join(tmpdir(), 'rootc-lsp-'));
  private seq = 0;
  stderr = '';

  private constructor(readonly proc: ChildProcess) {
    this.connection = createProtocolConnection(
      new StreamMessageReader(proc.stdout!),
      new StreamMessageWriter(proc.stdin!),
    );
    proc.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      const list = this.diagnostics.get(p.uri) ?? [];
      list.push(p);
      this.diagnostics.set(p.uri, list);
      for (const w of this.waiters.splice(0)) w();
    });
    this.connection.listen();
  }

  static async start(): Promise<LspClient> {
    const proc = spawn(process.execPath, [path.join(repoRoot, 'bin/rootc.js'), 'lsp', '--stdio'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const client = new LspClient(proc);
    const init = await client.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(client.dir).href,
      capabilities: {},
      workspaceFolders: null,
    });
    expect(init.capabilities.hoverProvider).toBe(true);
    await client.connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  /** Opens a new document (a fresh file name each time, in the client's temp dir). */
  async open(text: string, name = `Rootfile.${++this.seq}`): Promise<string> {
    const file = path.join(this.dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    const uri = pathToFileURL(file).href;
    this.versions.set(uri, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'rootfile', version: 1, text },
    });
    return uri;
  }

  async change(uri: string, text: string): Promise<void> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  /** The diagnostics published for the document's current version (waits for them). */
  async diagnosticsFor(uri: string, timeoutMs = 30_000): Promise<LspDiagnostic[]> {
    const want = this.versions.get(uri);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = this.diagnostics.get(uri)?.at(-1);
      if (last && last.version === want) return last.diagnostics;
      if (Date.now() > deadline) throw new Error(`no diagnostics for ${uri} v${want}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** Tells the server a document was saved. */
  async save(uri: string): Promise<void> {
    await this.connection.sendNotification(DidSaveTextDocumentNotification.type, { textDocument: { uri } });
  }

  /** How many diagnostics notifications the document has had (to wait for the next one). */
  published(uri: string): number {
    return this.diagnostics.get(uri)?.length ?? 0;
  }

  /** The next diagnostics published for the document after `count` notifications. */
  async nextDiagnostics(uri: string, count: number, timeoutMs = 30_000): Promise<LspDiagnostic[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.published(uri) <= count) {
      if (Date.now() > deadline) throw new Error(`no new diagnostics for ${uri}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.diagnostics.get(uri)!.at(-1)!.diagnostics;
  }

  completion(uri: string, position: Position): Promise<CompletionItem[]> {
    return this.connection
      .sendRequest(CompletionRequest.type, { textDocument: { uri }, position })
      .then((r) => (r === null ? [] : Array.isArray(r) ? r : r.items));
  }
  hover(uri: string, position: Position): Promise<Hover | null> {
    return this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
  }
  async definition(uri: string, position: Position): Promise<Location | null> {
    const r = await this.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position });
    if (r === null) return null;
    const first = Array.isArray(r) ? r[0] : r;
    if (!first) return null;
    return 'targetUri' in first ? { uri: first.targetUri, range: first.targetSelectionRange } : first;
  }
  format(uri: string): Promise<TextEdit[]> {
    return this.connection
      .sendRequest(DocumentFormattingRequest.type, {
        textDocument: { uri },
        options: { tabSize: 4, insertSpaces: true },
      })
      .then((r) => r ?? []);
  }
  async codeActions(uri: string, diagnostics: LspDiagnostic[]): Promise<CodeAction[]> {
    const range = diagnostics[0]?.range ?? {
      start: { line: 0, character: 0 },
      end: { line: 0, character: 0 },
    };
    const r = await this.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range,
      context: { diagnostics },
    });
    return (r ?? []).filter(
      (x): x is CodeAction => 'title' in x && !('command' in x && typeof x.command === 'string'),
    );
  }
  symbols(uri: string): Promise<DocumentSymbol[]> {
    return this.connection
      .sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })
      .then((r) => (r ?? []) as DocumentSymbol[]);
  }

  /** shutdown + exit, as an editor closes a server; resolves with the process's exit code. */
  async stop(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.proc.once('exit', (code) => resolve(code)));
    await this.connection.sendRequest(ShutdownRequest.type);
    await this.connection.sendNotification(ExitNotification.type);
    const code = await exited;
    this.connection.dispose();
    rmSync(this.dir, { recursive: true, force: true });
    return code;
  }
}

/** Position of an offset in a text (0-based line, UTF-16 column). */
export function positionOf(text: string, offset: number): Position {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, character: before.at(-1)!.length };
}

/** Removes the `<|>` marker: the text and the cursor position. */
export function withCursor(marked: string): { text: string; position: Position } {
  const at = marked.indexOf(CURSOR);
  if (at < 0) throw new Error('test text has no <|> cursor marker');
  const text = marked.slice(0, at) + marked.slice(at + CURSOR.length);
  return { text, position: positionOf(text, at) };
}

let shared: LspClient | undefined;
/** The server shared by a test file's helpers (started by `startServer` in beforeAll). */
export async function startServer(): Promise<LspClient> {
  shared = await LspClient.start();
  return shared;
}
export async function stopServer(): Promise<number | null> {
  const s = shared;
  shared = undefined;
  return s ? await s.stop() : null;
}
function server(): LspClient {
  if (!shared) throw new Error('call startServer() in beforeAll first');
  return shared;
}

/** Completion labels at the cursor. */
export async function completionLabels(marked: string, name?: string): Promise<string[]> {
  const { text, position } = withCursor(marked);
  const uri = await server().open(text, name);
  return (await server().completion(uri, position)).map((i) => i.label);
}

export async function expectCompletion(
  marked: string,
  expected: { includes?: string[]; excludes?: string[]; exactly?: string[] },
  name?: string,
): Promise<string[]> {
  const labels = await completionLabels(marked, name);
  if (expected.exactly) expect([...labels].sort()).toEqual([...expected.exactly].sort());
  for (const l of expected.includes ?? []) expect(labels, `completion should offer ${l}`).toContain(l);
  for (const l of expected.excludes ?? [])
    expect(labels, `completion should not offer ${l}`).not.toContain(l);
  return labels;
}

/** The hover text at the cursor must contain each string (or be empty when `null`). */
export async function expectHover(marked: string, contains: string[] | null): Promise<string> {
  const { text, position } = withCursor(marked);
  const uri = await server().open(text);
  const h = await server().hover(uri, position);
  const value = h && typeof h.contents === 'object' && 'value' in h.contents ? h.contents.value : '';
  if (contains === null) expect(h).toBeNull();
  else for (const c of contains) expect(value).toContain(c);
  return value;
}

/**
 * Go to definition at the cursor must land on the text marked `«…»` in the same document, or on
 * `file` (a path) when given; `null` expects no definition.
 */
export async function expectDefinition(marked: string, file?: string | null): Promise<void> {
  const open = marked.indexOf('«');
  const close = marked.indexOf('»');
  const unmarked = marked.replace('«', '').replace('»', '');
  const { text, position } = withCursor(unmarked);
  const uri = await server().open(text);
  const loc = await server().definition(uri, position);
  if (file === null) {
    expect(loc).toBeNull();
    return;
  }
  expect(loc, 'a definition').not.toBeNull();
  if (file !== undefined) {
    expect(loc!.uri).toBe(pathToFileURL(file).href);
    return;
  }
  // Marker offsets in the text without any marker (the cursor may sit before or after «…»).
  const strip = (s: string) => s.replaceAll('«', '').replaceAll('»', '').replaceAll(CURSOR, '');
  const start = strip(marked.slice(0, open)).length;
  const end = strip(marked.slice(0, close)).length;
  expect(loc!.uri).toBe(uri);
  expect(loc!.range).toEqual({ start: positionOf(text, start), end: positionOf(text, end) });
}

/** Diagnostics of a text, as `code@line:col` (1-based, as rootc check prints them). */
export async function diagnosticsOf(text: string, name?: string): Promise<string[]> {
  const uri = await server().open(text, name);
  const ds = await server().diagnosticsFor(uri);
  return ds.map((d) => `${d.code}@${d.range.start.line + 1}:${d.range.start.character + 1}`);
}

/** The text after the server's formatting edits. */
export async function formatted(text: string): Promise<string> {
  const uri = await server().open(text);
  return applyEdits(text, await server().format(uri));
}

/** The text after applying every quick fix the server offers for the text's diagnostics. */
export async function quickFixed(text: string): Promise<string> {
  const uri = await server().open(text);
  const actions = await server().codeActions(uri, await server().diagnosticsFor(uri));
  return applyEdits(
    text,
    actions.flatMap((a) => a.edit?.changes?.[uri] ?? []),
  );
}

export function applyEdits(text: string, edits: TextEdit[]): string {
  const offset = (p: Position) => {
    const lines = text.split('\n');
    let o = 0;
    for (let i = 0; i < p.line; i++) o += lines[i]!.length + 1;
    return o + p.character;
  };
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted)
    out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

export { server as lspServer };
