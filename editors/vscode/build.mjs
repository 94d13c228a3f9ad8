#!/usr/bin/env node
/**
 * Builds the extension: bundles the client (src/extension.ts + vscode-languageclient) into
 * dist/extension.js with esbuild, and copies rootc's TextMate grammar into syntaxes/ (an extension
 * may only ship files inside its own folder). `npm run package` then makes rootfile.vsix.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

mkdirSync(here('./syntaxes'), { recursive: true });
copyFileSync(here('../../grammar/rootfile.tmLanguage.json'), here('./syntaxes/rootfile.tmLanguage.json'));

await build({
  entryPoints: [here('./src/extension.ts')],
  bundle: true,
  outfile: here('./dist/extension.js'),
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});
