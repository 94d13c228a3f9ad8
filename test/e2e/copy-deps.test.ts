/**
 * COPY --deps failures through `rootc build`: a missing library, a non-ELF file and a corrupt ELF header each
 * stop the build with a compiler-style diagnostic at the COPY line (resolveDeps' own cases: test/elf).
 */
import { copyFileSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readElf } from '../../src/elf/elf.js';
import { requireTools, runRootc, tempDir } from '../support/index.js';

describe('COPY --deps diagnostics through rootc build', () => {
  if (!requireTools('root')) return;
  let ctx: string;
  beforeAll(async () => {
    ctx = await tempDir('deps-diag');
    // Stage "a": bash and its loader, none of its libraries; a script; an ELF header cut short.
    const bash = realpathSync('/bin/bash');
    const interp = readElf(bash).interpreter ?? '/lib64/ld-linux-x86-64.so.2';
    mkdirSync(path.join(ctx, 'a/usr/bin'), { recursive: true });
    copyFileSync(bash, path.join(ctx, 'a/usr/bin/bash'));
    mkdirSync(path.join(ctx, 'a', path.dirname(interp)), { recursive: true });
    copyFileSync(realpathSync(interp), path.join(ctx, 'a', interp));
    writeFileSync(path.join(ctx, 'a/script'), '#!/bin/sh\necho hi\n');
    writeFileSync(path.join(ctx, 'a/broken'), readFileSync('/bin/ls').subarray(0, 64));
  });

  it.each([
    ['/usr/bin/bash', /COPY --deps: \/usr\/bin\/bash → lib[\w.+-]+\.so[\d.]*: not found/],
    ['/script', /COPY --deps: \/script is not an ELF file/],
    ['/broken', /COPY --deps: \/broken: corrupt ELF header/],
  ])('%s', async (src, message) => {
    const file = path.join(ctx, `Rootfile${src.replace(/\//g, '-')}`);
    writeFileSync(file, `FROM scratch AS a\nCOPY a/ /\n\nFROM scratch\nCOPY --from=a --deps ${src} /bin/\n`);
    const r = await runRootc(['build', '-f', file, ctx]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Rootfile[^:]*:5:1: error: ${message.source}`));
    expect(r.stderr).toContain(`COPY --from=a --deps ${src} /bin/`);
  });
});
