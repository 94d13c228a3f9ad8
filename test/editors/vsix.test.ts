import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/index.js';
import { readZip, type ZipEntry } from './zip.js';

const ext = path.join(repoRoot, 'editors/vscode');

describe('VS Code extension', () => {
  let entries: ZipEntry[] = [];
  const entry = (name: string) => {
    const e = entries.find((x) => x.name === name);
    if (!e) throw new Error(`${name} not in the .vsix: ${entries.map((x) => x.name).join(', ')}`);
    return e.read().toString('utf8');
  };

  beforeAll(async () => {
    // Its own packages from its own lock (a no-op when scripts/setup.sh already installed them).
    await execa('bash', [path.join(ext, 'install.sh')], { cwd: ext });
    await execa('npm', ['run', 'package', '--silent'], { cwd: ext, env: { CI: 'true' } });
    entries = readZip(readFileSync(path.join(ext, 'rootfile.vsix')));
  }, 300_000);

  it('packages the manifest, the grammar, the language configuration and the client', () => {
    const names = entries.map((e) => e.name);
    for (const n of [
      'extension.vsixmanifest',
      'extension/package.json',
      'extension/syntaxes/rootfile.tmLanguage.json',
      'extension/language-configuration.json',
      'extension/dist/extension.js',
    ])
      expect(names).toContain(n);
    expect(names.filter((n) => n.includes('node_modules') || n.includes('/src/'))).toEqual([]);
  });

  it('contributes the rootfile language for Rootfile, Rootfile.* and *.rootfile', () => {
    const pkg = JSON.parse(entry('extension/package.json'));
    const [lang] = pkg.contributes.languages;
    expect(lang).toMatchObject({
      id: 'rootfile',
      filenames: ['Rootfile'],
      filenamePatterns: ['Rootfile.*', '*.rootfile'],
      configuration: './language-configuration.json',
    });
    expect(pkg.contributes.grammars[0]).toMatchObject({ language: 'rootfile', scopeName: 'source.rootfile' });
    expect(pkg.contributes.configuration.properties['rootfile.server.path'].default).toBe('rootc');
    expect(pkg.main).toBe('./dist/extension.js');
  });

  it("ships rootc's grammar unchanged", () => {
    const grammar = readFileSync(path.join(repoRoot, 'grammar/rootfile.tmLanguage.json'), 'utf8');
    expect(entry('extension/syntaxes/rootfile.tmLanguage.json')).toBe(grammar);
  });

  it('has comments, brackets and auto-closing pairs in its language configuration', () => {
    const conf = JSON.parse(entry('extension/language-configuration.json'));
    expect(conf.comments.lineComment).toBe('#');
    expect(conf.brackets).toContainEqual(['[', ']']);
    expect(conf.autoClosingPairs.map((p: { open: string }) => p.open)).toEqual(
      expect.arrayContaining(['{', '[', '"']),
    );
  });

  it('starts `rootc lsp --stdio` through vscode-languageclient', () => {
    const js = entry('extension/dist/extension.js');
    expect(js).toContain('"lsp","--stdio"');
    expect(js).toContain('rootfile.server');
    expect(js).toMatch(/LanguageClient/);
    expect(js).toContain('require("vscode")');
  });
});
