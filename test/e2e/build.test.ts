/**
 * End to end: `rootc build` → `docker load` → `docker run` in a real dockerd, for what issue 3 asks to show:
 * config in `docker inspect`, deletions, hardlinks, setuid, file capabilities, the rootfs output under
 * `docker import`, reproducible bytes, cache behaviour from --progress=json, hostile inputs.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  dockerImport,
  dockerInspect,
  dockerLoad,
  dockerRun,
  requireTools,
  run,
  runRootc,
  tempDir,
  uniqueRef,
} from '../support/index.js';

const ROOTFILE = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY --from=host --deps /usr/sbin/setcap /usr/sbin/getcap /usr/sbin/
RUN mkdir -p /etc /d /data && echo old > /d/old \\
 && echo 'root:x:0:0::/root:/bin/sh' > /etc/passwd \\
 && echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd \\
 && printf 'root:x:0:\\napp:x:1000:\\n' > /etc/group \\
 && echo bye > /etc/removed-by-remove
RUN rm -rf /d && mkdir /d && echo new > /d/new \\
 && echo a > /data/a && ln /data/a /data/b \\
 && cp /bin/busybox /bin/suid && chmod 4755 /bin/suid \\
 && cp /bin/busybox /bin/capped && setcap cap_net_raw+ep /bin/capped
REMOVE /etc/removed-by-remove
COPY app.txt /srv/
ENV GREETING=hello PATH=/usr/sbin:/bin
WORKDIR /work
LABEL org.example.purpose=e2e
EXPOSE 8080/tcp 53/udp
VOLUME /data
STOPSIGNAL SIGQUIT
USER app
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $GREETING from $(pwd) as $(id -u)"]
`;

async function makeContext(): Promise<string> {
  const dir = await tempDir('e2e-ctx');
  copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
  writeFileSync(path.join(dir, 'app.txt'), 'version 1\n');
  writeFileSync(path.join(dir, 'Rootfile'), ROOTFILE);
  return dir;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

interface JsonEvent {
  type: string;
  step?: number;
  name?: string;
  reason?: string;
}

function events(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);
}

/** Step names that ran (missed the cache) and that were cached, from --progress=json. */
function cacheSummary(stdout: string): { ran: string[]; cached: string[] } {
  const ev = events(stdout);
  const names = new Map(ev.filter((e) => e.type === 'step-start').map((e) => [e.step, e.name ?? '']));
  return {
    ran: ev.filter((e) => e.type === 'step-miss').map((e) => names.get(e.step) ?? ''),
    cached: ev.filter((e) => e.type === 'step-cached').map((e) => names.get(e.step) ?? ''),
  };
}

describe('rootc build → docker', () => {
  if (!requireTools('docker', 'busybox', 'setcap', 'root')) return;
  let ctx: string;
  let out: string;
  let cacheDir: string;
  const ref = uniqueRef('e2e-build');

  beforeAll(async () => {
    ctx = await makeContext();
    out = await tempDir('e2e-out');
    cacheDir = await tempDir('e2e-cache');
    const r = await runRootc(
      [
        'build',
        '-t',
        ref,
        '--progress=plain',
        '-o',
        `type=docker,dest=${out}/image.tar`,
        '-o',
        `type=rootfs,dest=${out}/rootfs.tar`,
        ctx,
      ],
      { env: { ROOTC_CACHE_DIR: cacheDir } },
    );
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.exitCode, r.stderr).toBe(0);
    await dockerLoad(path.join(out, 'image.tar'));
  }, 300_000);

  it('runs with its CMD, ENTRYPOINT, ENV, WORKDIR and USER', async () => {
    const r = await dockerRun(ref);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('hello from /work as 1000');
  });

  it('shows the config in docker inspect', async () => {
    const img = await dockerInspect(ref);
    expect(img.Config.Cmd).toEqual(['echo $GREETING from $(pwd) as $(id -u)']);
    expect(img.Config.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(img.Config.Env).toContain('GREETING=hello');
    expect(img.Config.Env).toContain('PATH=/usr/sbin:/bin');
    expect(img.Config.WorkingDir).toBe('/work');
    expect(img.Config.User).toBe('app');
    expect(Object.keys(img.Config.ExposedPorts ?? {}).sort()).toEqual(['53/udp', '8080/tcp']);
    expect(Object.keys(img.Config.Volumes ?? {})).toEqual(['/data']);
    expect(img.Config.Labels).toEqual({ 'org.example.purpose': 'e2e' });
    expect(img.Config.StopSignal).toBe('SIGQUIT');
  });

  it('keeps deletions, a recreated directory, hardlinks, setuid and file capabilities', async () => {
    const script = [
      'test ! -e /etc/removed-by-remove && echo removed',
      'ls /d',
      '[ "$(stat -c %i /data/a)" = "$(stat -c %i /data/b)" ] && echo same-inode',
      'stat -c %a /bin/suid',
      'getcap /bin/capped',
    ].join('; ');
    const r = await dockerRun(ref, [script]);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('removed');
    expect(lines[1]).toBe('new');
    expect(lines[2]).toBe('same-inode');
    expect(lines[3]).toBe('4755');
    expect(lines[4]).toMatch(/\/bin\/capped cap_net_raw[=+]ep/);
  });

  it('writes a rootfs tar that docker import runs', async () => {
    const imported = uniqueRef('e2e-import');
    await dockerImport(path.join(out, 'rootfs.tar'), imported);
    const r = await dockerRun(imported, ['/bin/cat', '/srv/app.txt']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('version 1\n');
  });

  it('gives byte-identical outputs from another directory, another cache and other mtimes', async () => {
    const ctx2 = await makeContext();
    const later = new Date(Date.now() + 3_600_000);
    for (const f of ['busybox', 'app.txt', 'Rootfile']) utimesSync(path.join(ctx2, f), later, later);
    const out2 = await tempDir('e2e-out2');
    const r = await runRootc(
      [
        'build',
        '-t',
        ref,
        '--progress=quiet',
        '-o',
        `type=docker,dest=${out2}/image.tar`,
        '-o',
        `type=rootfs,dest=${out2}/rootfs.tar`,
        '.',
      ],
      { cwd: ctx2, env: { ROOTC_CACHE_DIR: await tempDir('e2e-cache2') } },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(sha256(path.join(out2, 'image.tar'))).toBe(sha256(path.join(out, 'image.tar')));
    expect(sha256(path.join(out2, 'rootfs.tar'))).toBe(sha256(path.join(out, 'rootfs.tar')));
  });

  it('reuses the cache: nothing runs again, and a changed COPY source reruns from that step on', async () => {
    const again = await runRootc(
      ['build', '-t', ref, '--progress=json', '-o', `type=docker,dest=${out}/again.tar`, ctx],
      {
        env: { ROOTC_CACHE_DIR: cacheDir },
      },
    );
    expect(again.exitCode, again.stderr).toBe(0);
    const first = cacheSummary(again.stdout);
    expect(first.ran).toEqual([]);
    expect(first.cached.length).toBe(8);
    expect(sha256(path.join(out, 'again.tar'))).toBe(sha256(path.join(out, 'image.tar')));
    // The same output again: rootc wrote it and nobody touched it, so it is left as it is (like make).
    const third = await runRootc(
      ['build', '-t', ref, '--progress=json', '-o', `type=docker,dest=${out}/again.tar`, ctx],
      {
        env: { ROOTC_CACHE_DIR: cacheDir },
      },
    );
    expect(third.exitCode, third.stderr).toBe(0);
    expect(events(third.stdout).find((e) => e.type === 'output')).toMatchObject({ upToDate: true });
    writeFileSync(path.join(out, 'again.tar'), 'clobbered');
    const fourth = await runRootc(
      ['build', '-t', ref, '--progress=json', '-o', `type=docker,dest=${out}/again.tar`, ctx],
      {
        env: { ROOTC_CACHE_DIR: cacheDir },
      },
    );
    expect(events(fourth.stdout).find((e) => e.type === 'output')).not.toMatchObject({ upToDate: true });
    expect(sha256(path.join(out, 'again.tar'))).toBe(sha256(path.join(out, 'image.tar')));

    writeFileSync(path.join(ctx, 'app.txt'), 'version 2\n');
    const changed = await runRootc(
      ['build', '--progress=json', '-o', `type=docker,dest=${out}/changed.tar`, ctx],
      {
        env: { ROOTC_CACHE_DIR: cacheDir },
      },
    );
    expect(changed.exitCode, changed.stderr).toBe(0);
    const second = cacheSummary(changed.stdout);
    expect(second.ran).toEqual(['COPY app.txt /srv/', 'WORKDIR /work']);
    expect(second.cached).toHaveLength(6);
    const miss = events(changed.stdout).find((e) => e.type === 'step-miss');
    expect(miss?.reason).toMatch(/inputs changed: context:app.txt/);
    writeFileSync(path.join(ctx, 'app.txt'), 'version 1\n');
  });
});

describe('rootc build with hostile inputs', () => {
  if (!requireTools('root', 'busybox')) return;

  async function build(ctx: string, rootfile: string, extra: string[] = []) {
    writeFileSync(path.join(ctx, 'Rootfile'), rootfile);
    const out = await tempDir('hostile-out');
    const cacheDir = await tempDir('hostile-cache');
    const r = await runRootc(
      ['build', '--progress=plain', '-o', `type=rootfs,dest=${out}/rootfs.tar`, ...extra, ctx],
      { env: { ROOTC_CACHE_DIR: cacheDir, ROOTC_TRACE: '1' } },
    );
    return { ...r, out, cacheDir };
  }

  it('refuses a context symlink that points at /etc (it resolves inside the context)', async () => {
    const ctx = await tempDir('hostile-ctx');
    symlinkSync('/etc', path.join(ctx, 'etc-link'));
    const r = await build(ctx, 'FROM scratch\nCOPY etc-link/passwd /stolen\n');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Rootfile:2:1: error: .*etc-link\/passwd.* not found in the build context/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses COPY ../x', async () => {
    const ctx = await tempDir('hostile-ctx');
    const r = await build(ctx, 'FROM scratch\nCOPY ../x /x\n');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Rootfile:2:1: error: .*outside the build context/);
  });

  it('keeps a base tarball with ../ entries and a symlink to / inside the rootfs', async () => {
    const ctx = await tempDir('hostile-ctx');
    const victim = await tempDir('hostile-victim');
    const stage = await tempDir('hostile-stage');
    // A tar whose entries climb out (../../x) and plant an absolute symlink, then write through it.
    mkdirSync(path.join(stage, 'bin'));
    copyFileSync('/bin/busybox', path.join(stage, 'bin/busybox'));
    symlinkSync(victim, path.join(stage, 'evil'));
    writeFileSync(path.join(stage, 'payload'), 'pwned\n');
    const tarball = path.join(ctx, 'base.tar');
    await run('tar', ['-cf', tarball, '-C', stage, 'bin', 'evil'], { reject: true });
    // Append entries by name: evil/payload (through the symlink) and ../../../escape.
    await run('tar', ['-rf', tarball, '-C', stage, '--transform', 's,^payload$,evil/payload,', 'payload'], {
      reject: true,
    });
    await run(
      'tar',
      ['-rf', tarball, '-C', stage, '--transform', 's,^payload$,../../../../escape-rootc,', '-P', 'payload'],
      {
        reject: true,
      },
    );
    const r = await build(ctx, 'FROM tarball base.tar\nRUN ["/bin/busybox", "true"]\n');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(path.join(victim, 'payload'))).toBe(false);
    expect(existsSync('/escape-rootc')).toBe(false);
    expect(existsSync(path.resolve(ctx, '../../../../escape-rootc'))).toBe(false);
    const list = await run('tar', ['-tvf', path.join(r.out, 'rootfs.tar')], { reject: true });
    expect(list.stdout).not.toMatch(/\.\.\//);
    // The RUN's tree was the one extracted while the tarball was converted (build/ahead.ts); nothing left over.
    expect(r.stderr).toMatch(/TRACE .* materialized ahead, adopted/);
    expect(readdirSync(path.join(r.cacheDir, 'tmp'))).toEqual([]);
  });
});
