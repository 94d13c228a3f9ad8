import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { instructionDocs } from '../../src/lsp/docs.js';
import { repoRoot } from '../support/index.js';

describe('instruction docs from markdown', () => {
  it('takes each instruction heading to the next heading of its level, the first one winning', () => {
    const md =
      '# Lang\n## Instructions\n### RUN\nRuns.\n```sh\n# not a heading RUN\n```\n#### RUN --mount\nmore\n### `CMD`, ENTRYPOINT\nBoth.\n### RUN again\nno\n## End\n';
    const docs = instructionDocs(md);
    expect(docs.get('RUN')).toBe('### RUN\nRuns.\n```sh\n# not a heading RUN\n```\n#### RUN --mount\nmore');
    expect(docs.get('CMD')).toBe('### `CMD`, ENTRYPOINT\nBoth.');
    expect(docs.get('ENTRYPOINT')).toBe(docs.get('CMD'));
    expect(docs.has('COPY')).toBe(false);
  });
});

describe('start-up cost', () => {
  it('loads vscode-languageserver only for `rootc lsp`', () => {
    // The CLI's command table (what `rootc check` and `rootc build` load) must not pull the server in.
    const script = `import { createRequire } from 'node:module';
      await import(${JSON.stringify(path.join(repoRoot, 'dist/cli/commands/index.js'))});
      const cache = Object.keys(createRequire(import.meta.url).cache);
      process.stdout.write(String(cache.filter((k) => k.includes('vscode-languageserver')).length));`;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })).toBe(
      '0',
    );
  });
});
