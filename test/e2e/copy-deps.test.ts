/**
 * COPY --deps failures through `rootc build`: a missing library, a non-ELF file and a corrupt ELF header each
 * stop the build with a compiler-style diagnostic at the COPY line (resolveDeps' own cases: test/elf).
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readElf } from '../../src/elf/elf.js';
import { dockerLoad, dockerRun, requireTools, runRootc, tempDir, uniqueRef } from '../support/index.js';

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

/** Each program ldd knows on this host, copied alone with --deps into a scratch image, runs in docker. */
const programs: [string, string[], RegExp][] = (
  [
    ['/bin/bash', ['--version'], /GNU bash/],
    ['/bin/ls', ['--version'], /ls \(GNU coreutils\)/],
    ['/usr/bin/curl', ['--version'], /^curl \d/],
    ['/usr/bin/python3', ['-c', 'import sys; print("python", sys.version_info[0])'], /python 3/],
    ['/usr/bin/ssh', ['-V'], /OpenSSH/],
  ] as [string, string[], RegExp][]
).filter(([p]) => existsSync(p));

describe('COPY --from=host --deps programs run in a scratch image', () => {
  if (!requireTools('docker', 'root')) return;
  it.each(programs)('%s', async (program, args, expected) => {
    const ctx = await tempDir('deps-run');
    const name = path.basename(program);
    // python3 needs its standard library (data, not ELF deps); ssh wants a passwd entry for its user.
    const pyLib = readdirSync('/usr/lib').find((d) => /^python3\.\d+$/.test(d));
    const extra =
      name === 'python3' && pyLib
        ? `COPY --from=host /usr/lib/${pyLib} /usr/lib/${pyLib}\n`
        : name === 'ssh'
          ? 'COPY <<EOF /etc/passwd\nroot:x:0:0:root:/root:/bin/sh\nEOF\n'
          : '';
    writeFileSync(
      path.join(ctx, 'Rootfile'),
      `FROM scratch\nCOPY --from=host --deps ${program} /bin/\n${extra}`,
    );
    const ref = uniqueRef(`deps-${name}`);
    const out = path.join(ctx, 'img.tar');
    const r = await runRootc(['build', '-t', ref, '-o', `type=docker,dest=${out}`, ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    await dockerLoad(out);
    const c = await dockerRun(ref, [`/bin/${name}`, ...args]);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(`${c.stdout}${c.stderr}`).toMatch(expected);
  });
});
