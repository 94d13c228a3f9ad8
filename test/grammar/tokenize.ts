/**
 * The real VS Code tokenizer (vscode-textmate + the Oniguruma wasm from vscode-oniguruma) loaded
 * with grammar/rootfile.tmLanguage.json, and shiki's shellscript grammar for `source.shell`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundledLanguages } from 'shiki';
import oniguruma from 'vscode-oniguruma';
import vsctm from 'vscode-textmate';
import { repoRoot } from '../support/index.js';

export const GRAMMAR_FILE = path.join(repoRoot, 'grammar/rootfile.tmLanguage.json');

export interface Token {
  text: string;
  start: number;
  end: number;
  scopes: string[];
}

let grammar: Promise<vsctm.IGrammar> | undefined;

export function rootfileGrammar(): Promise<vsctm.IGrammar> {
  grammar ??= load();
  return grammar;
}

/** The shell grammar shiki bundles (VS Code's shellscript grammar). */
export async function shellGrammar(): Promise<vsctm.IRawGrammar> {
  const mod = (await bundledLanguages.shellscript()) as { default: vsctm.IRawGrammar[] };
  return mod.default.find((g) => g.scopeName === 'source.shell')!;
}

async function load(): Promise<vsctm.IGrammar> {
  const wasm = readFileSync(createRequire(import.meta.url).resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const shell = await shellGrammar();
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources: string[]) => new oniguruma.OnigScanner(sources),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope: string) => {
      if (scope === 'source.rootfile')
        return vsctm.parseRawGrammar(readFileSync(GRAMMAR_FILE, 'utf8'), GRAMMAR_FILE);
      if (scope === 'source.shell') return shell;
      return null;
    },
  });
  const g = await registry.loadGrammar('source.rootfile');
  if (!g) throw new Error('grammar source.rootfile did not load');
  return g;
}

/** Tokens of each line, the rule stack carried from line to line as in the editor. */
export async function tokenizeLines(lines: string[]): Promise<Token[][]> {
  const g = await rootfileGrammar();
  let stack = vsctm.INITIAL;
  return lines.map((line) => {
    const r = g.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens.map((t) => ({
      text: line.slice(t.startIndex, t.endIndex),
      start: t.startIndex,
      end: t.endIndex,
      scopes: t.scopes,
    }));
  });
}

/** Debug view: each token with its innermost scopes. */
export async function dump(text: string): Promise<string> {
  const lines = text.split('\n');
  const toks = await tokenizeLines(lines);
  return toks
    .map(
      (ts, i) =>
        `${lines[i]}\n${ts.map((t) => `  ${JSON.stringify(t.text)} ${t.scopes.slice(1).join(' ')}`).join('\n')}`,
    )
    .join('\n');
}
