import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRootfile } from '../../src/fmt/format.js';
import { repoRoot, runRootc, tempDir } from '../support/index.js';
import {
  diagnosticsOf,
  expectCompletion,
  expectDefinition,
  expectHover,
  formatted,
  lspServer,
  quickFixed,
  startServer,
  stopServer,
  withCursor,
} from './helpers.js';

// The server over stdio, as an editor runs it (`npm run build` first: it spawns bin/rootc.js).
beforeAll(startServer, 120_000);
afterAll(async () => {
  expect(await stopServer()).toBe(0);
});

describe('diagnostics (the same as rootc check)', () => {
  it('reports syntax errors with their range', async () => {
    expect(await diagnosticsOf('FROM scratch\nCOPPY a /b\n')).toEqual(['syntax/unknown-instruction@2:1']);
  });

  it('places them right in CRLF files and after non-ASCII text', async () => {
    expect(await diagnosticsOf('FROM scratch\r\nLABEL a="é€😀"\r\nCOPY --x=1 a /b\r\n')).toEqual([
      'lower/unknown-flag@3:6',
    ]);
    expect(await diagnosticsOf('FROM scratch\nLABEL a="😀" \\\n  b=1 ; COPPY\nCOPPY x y\n')).toContain(
      'syntax/unknown-instruction@4:1',
    );
  });

  it('reports what rootc check reports, at the same places', async () => {
    // Lowering errors (unknown INCLUDE, unknown flag, unknown --from stage) and a warning.
    const text =
      'FROM scratch AS a\nCOPY --from=a /x /y\nINCLUDE nosuch\nCOPY --chmood=644 a /b\n' +
      'FROM scratch\nCOPY --from=later /a /b\nMAINTAINER me\nFROM scratch AS later\n';
    const dir = await tempDir('lsp-check');
    writeFileSync(path.join(dir, 'Rootfile'), text);
    const cli = await runRootc(['check', 'Rootfile'], { cwd: dir });
    const fromCli = [...cli.stderr.matchAll(/^Rootfile:(\d+):(\d+): (\w+): /gm)].map(
      (m) => `${m[1]}:${m[2]} ${m[3]}`,
    );
    const s = lspServer();
    const uri = await s.open(text);
    const fromLsp = (await s.diagnosticsFor(uri)).map(
      (d) =>
        `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity === 1 ? 'error' : 'warning'}`,
    );
    expect(fromCli.length).toBeGreaterThanOrEqual(4);
    expect(fromLsp).toEqual(fromCli);
    expect(await diagnosticsOf(text)).toEqual(
      expect.arrayContaining(['lower/unknown-include@3:9', 'lower/unknown-flag@4:6']),
    );
  });

  it('reports errors in an INCLUDEd fragment on the INCLUDE line', async () => {
    const s = lspServer();
    writeFileSync(path.join(s.dir, 'frag.rootfile'), 'RUNN x\n');
    const ds = await diagnosticsOf('FROM scratch\nINCLUDE ./frag.rootfile\n');
    expect(ds).toContain('syntax/unknown-instruction@2:1');
    expect(ds.every((d) => d.endsWith('@2:1'))).toBe(true);
  });

  it('re-checks the files that INCLUDE a fragment when the fragment is saved', async () => {
    const s = lspServer();
    writeFileSync(path.join(s.dir, 'part.rootfile'), 'RUNN x\n');
    const main = await s.open('FROM scratch\nINCLUDE ./part.rootfile\n');
    expect((await s.diagnosticsFor(main)).length).toBeGreaterThan(0);
    const seen = s.published(main);
    writeFileSync(path.join(s.dir, 'part.rootfile'), 'RUN x\n');
    const part = await s.open('RUN x\n', 'part.rootfile');
    await s.save(part);
    expect(await s.nextDiagnostics(main, seen)).toEqual([]);
  });

  it('re-checks after didChange', async () => {
    const s = lspServer();
    const uri = await s.open('FROM scratch\nRUN true\n');
    expect(await s.diagnosticsFor(uri)).toEqual([]);
    await s.change(uri, 'FROM scratch\nRUNN true\n');
    const after = await s.diagnosticsFor(uri);
    expect(after.map((d) => d.code)).toEqual(['syntax/unknown-instruction']);
    expect(after[0]!.message).toContain('did you mean RUN');
  });
});

describe('completion', () => {
  it('offers instructions at the start of a line', async () => {
    await expectCompletion('FROM scratch\nCO<|>', {
      includes: ['COPY', 'CMD', 'REMOVE', 'INCLUDE', 'ANNOTATION'],
    });
  });
  it('offers the flags of the instruction at the cursor', async () => {
    await expectCompletion('FROM scratch\nCOPY --<|>', {
      includes: ['--from=', '--chown=', '--deps', '--link'],
      excludes: ['--mount='],
    });
  });
  it('offers RUN flags for RUN', async () => {
    await expectCompletion('FROM scratch\nRUN --<|>', {
      exactly: ['--mount=', '--network=', '--security=', '--device='],
    });
  });
  it("offers a FROM kind's flags", async () => {
    await expectCompletion('FROM tarball x.tgz --<|>', { includes: ['--sha256=', '--platform='] });
  });
  it('offers earlier stage names and host after --from=', async () => {
    await expectCompletion('FROM scratch AS build\nFROM scratch AS later\nCOPY --from=<|>', {
      exactly: ['build', 'host'],
    });
  });
  it('offers FROM kinds and stage names after FROM', async () => {
    await expectCompletion('FROM scratch AS base\nFROM <|>', {
      includes: ['tarball', 'stage3', 'debootstrap', 'scratch', 'base'],
    });
  });
  it('offers AS after the image, nothing after a source kind', async () => {
    await expectCompletion('FROM debian:12 <|>', { exactly: ['AS'] });
    await expectCompletion('FROM tarball <|>', { exactly: [] });
  });
  it('offers stdlib fragments after INCLUDE', async () => {
    await expectCompletion('FROM scratch\nINCLUDE <|>', { includes: ['users', 'nonroot', 'strip-docs'] });
  });
  it("offers a fragment's parameters after its name", async () => {
    await expectCompletion('FROM scratch\nINCLUDE users <|>', { includes: ['NAME=', 'USER_ID='] });
  });
  it('offers ARG and ENV names inside ${', async () => {
    await expectCompletion('ARG V=1\nFROM scratch\nARG V\nENV HOME_DIR=/h\nRUN echo ${<|>', {
      includes: ['V', 'HOME_DIR'],
      excludes: ['TARGETARCH'],
    });
  });
  it('offers global ARGs (with the predefined ones) on FROM lines', async () => {
    await expectCompletion('ARG BASE=x\nFROM ${<|>', { includes: ['BASE', 'TARGETARCH'] });
  });
  it('reads a continuation line as part of its instruction (flags, not keywords)', async () => {
    await expectCompletion('FROM scratch\nCOPY a \\\n  --<|>', { includes: ['--from='] });
  });
  it('offers trigger instructions after ONBUILD', async () => {
    await expectCompletion('FROM scratch\nONBUILD <|>', {
      includes: ['RUN', 'COPY'],
      excludes: ['FROM', 'ONBUILD'],
    });
  });
  it('offers nothing inside a comment', async () => {
    await expectCompletion('FROM scratch\n# CO<|>', { exactly: [] });
  });
});

describe('hover', () => {
  it("shows a variable's value at that point", async () => {
    await expectHover('ARG V=1\nFROM scratch\nARG V\nENV W=${V}-x\nRUN echo $W<|>', ['`W` (ENV)', '`1-x`']);
  });
  it('shows a global ARG on a FROM line', async () => {
    await expectHover('ARG TAG=3.19\nFROM alpine:${T<|>AG}', ['`TAG` (ARG)', '`3.19`']);
  });
  it('shows ENV inherited from the parent stage', async () => {
    await expectHover('FROM scratch AS a\nENV X=1\nFROM a\nARG Y\nRUN echo $X<|> $Y', ['`X` (ENV)', '`1`']);
  });
  it('says when a variable is not declared', async () => {
    await expectHover('FROM scratch\nRUN echo ${NO<|>PE}', ['not declared']);
  });
  it('shows a stage', async () => {
    await expectHover('FROM scratch AS build\nFROM scratch\nCOPY --from=bu<|>ild /a /b', [
      'stage 0',
      'FROM scratch AS build',
    ]);
  });
  const docs = path.join(repoRoot, 'docs/rootfile.md');
  let manual = '';
  try {
    manual = readFileSync(docs, 'utf8');
  } catch {}
  it.skipIf(!/^#+ .*\bRUN\b/m.test(manual))(
    "shows an instruction's section of docs/rootfile.md",
    async () => {
      const value = await expectHover('FROM scratch\nR<|>UN true', ['RUN']);
      expect(manual).toContain(value.split('\n').slice(0, 3).join('\n'));
    },
  );
});

describe('go to definition', () => {
  it('goes from --from= to the stage name', async () => {
    await expectDefinition('FROM scratch AS «build»\nFROM scratch\nCOPY --from=bui<|>ld /a /b');
  });
  it('goes from FROM <stage> to the stage name', async () => {
    await expectDefinition('FROM scratch AS «base»\nFROM ba<|>se\n');
  });
  it('goes from a variable to the ARG in effect', async () => {
    await expectDefinition('ARG V=1\nFROM scratch\nARG «V»\nRUN echo ${<|>V}');
  });
  it('goes from a variable to the ENV that set it last', async () => {
    await expectDefinition('FROM scratch\nENV P=1\nENV «P»=2\nRUN echo $P<|>');
  });
  it('goes from INCLUDE to the stdlib fragment', async () => {
    await expectDefinition(
      'FROM scratch\nINCLUDE us<|>ers NAME=app',
      path.join(repoRoot, 'stdlib/users.rootfile'),
    );
  });
  it('has none for an unknown stage', async () => {
    await expectDefinition('FROM scratch\nCOPY --from=no<|>pe /a /b', null);
  });
});

describe('quick fixes', () => {
  it('applies the "did you mean" suggestions', async () => {
    expect(await quickFixed('FROM scratch\nCOPPY a /b\nCOPY --chmood=644 a /b\nINCLUDE user NAME=x\n')).toBe(
      'FROM scratch\nCOPY a /b\nCOPY --chmod=644 a /b\nINCLUDE users NAME=x\n',
    );
  });
});

describe('formatting and symbols', () => {
  it('formats exactly as rootc fmt', async () => {
    const text = 'from  scratch   as build\ncopy --chmod=644   a  /b\nrun echo hi\n';
    expect(await formatted(text)).toBe(formatRootfile(text, 'Rootfile').output);
    expect(await formatted(text)).toContain('FROM scratch AS build\nCOPY --chmod=644 a /b\n');
  });
  it('leaves a file with syntax errors alone', async () => {
    expect(await formatted('FROM scratch\nCOPPY a b\n')).toBe('FROM scratch\nCOPPY a b\n');
  });
  it('lists stages with their declarations', async () => {
    const s = lspServer();
    const { text } = withCursor('ARG G=1\nFROM scratch AS build\nENV A=1\nFROM build\nARG B<|>\n');
    const symbols = await s.symbols(await s.open(text));
    expect(symbols.map((x) => x.name)).toEqual(['G', 'build', 'stage 1']);
    expect(symbols[1]!.children!.map((x) => x.name)).toEqual(['A']);
    expect(symbols[2]!.children!.map((x) => x.name)).toEqual(['B']);
  });
});
