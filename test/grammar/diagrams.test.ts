import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../support/index.js';

it('docs/syntax-diagrams.html is up to date with the Chevrotain parser and self-contained', async () => {
  // grammar/diagrams.mjs reads the parser from dist/ (npm test builds first).
  const { diagramsHtml, OUTPUT } = (await import(path.join(repoRoot, 'grammar/diagrams.mjs'))) as {
    diagramsHtml: () => string;
    OUTPUT: string;
  };
  const html = diagramsHtml();
  expect(
    readFileSync(OUTPUT, 'utf8'),
    'run `npm run docs:diagrams` and commit docs/syntax-diagrams.html',
  ).toBe(html);
  const grammar = JSON.parse(/window\.serializedGrammar = (\[[\s\S]*?\]);\n<\/script>/.exec(html)![1]!);
  expect(grammar.map((r: { name: string }) => r.name)).toEqual(
    expect.arrayContaining(['rootfile', 'instruction', 'from', 'onbuild', 'flags']),
  );
  expect(html).not.toMatch(/<script src=|<link rel='stylesheet'|https?:\/\/unpkg/);
  expect(html).toContain('drawDiagramsFromSerializedGrammar');
});
