import { execFileSync } from 'node:child_process';
import { copyFile, lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/diagnostic.js';
import { runStep, sweepRunScratch } from '../../src/sandbox/run.js';
import { resolveUser } from '../../src/sandbox/users.js';
import {
  BUSYBOX,
  CAN_RUN,
  makeBusyboxRootfs,
  mountsUnder,
  processesIn,
  processesWithEnv,
  tempDir,
} from './helpers.js';

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function sh(rootfs: string, script: string, extra: Partial<Parameters<typeof runStep>[0]> = {}) {
  const lines: string[] = [];
  const r = await runStep({
    rootfs,
    argv: ['/bin/sh', '-c', script],
    onOutput: (l) => lines.push(l.line),
    ...extra,
  });
  return { ...r, lines };
}

describe.skipIf(!CAN_RUN)('runStep', () => {
  let base: string;
  let rootfs: string;
  beforeAll(async () => {
    base = await tempDir();
    rootfs = await makeBusyboxRootfs(path.join(base, 'rootfs'));
  });
  afterAll(async () => {
    expect(await mountsUnder(base)).toEqual([]);
    await rm(base, { recursive: true, force: true });
  });

  it('propagates the exit status and captures stdout and stderr', async () => {
    const lines: string[] = [];
    const r = await runStep({
      rootfs,
      argv: ['/bin/sh', '-c', 'echo hello; echo oops >&2; exit 3'],
      onOutput: (l) => lines.push(`${l.stream}:${l.line}`),
    });
    expect(r.exitCode).toBe(3);
    expect(r.signal).toBeUndefined();
    expect(lines).toEqual(expect.arrayContaining(['stdout:hello', 'stderr:oops']));
    expect(r.outputTail).toEqual(expect.arrayContaining(['hello', 'oops']));
  });

  it('decodes UTF-8 output split across reads', async () => {
    const r = await sh(rootfs, "i=0; while [ $i -lt 20000 ]; do echo 'é✓'; i=$((i+1)); done");
    expect(r.lines).toHaveLength(20000);
    expect(r.lines.every((l) => l === 'é✓')).toBe(true);
  });

  it('refuses an empty command or a missing rootfs with a diagnostic', async () => {
    await expect(runStep({ rootfs, argv: [] })).rejects.toThrow(/empty command/);
    await expect(runStep({ rootfs: path.join(base, 'nope'), argv: ['/bin/true'] })).rejects.toThrow(
      /not a directory/,
    );
    await expect(runStep({ rootfs, argv: ['/bin/true'], env: ['NOEQUALS'] })).rejects.toThrow(/K=V/);
    await expect(runStep({ rootfs, argv: ['/bin/true'], hostname: 'a\n1.2.3.4 evil' })).rejects.toThrow(
      /hostname/,
    );
  });

  it('keeps only the last lines for the failure diagnostic', async () => {
    const r = await sh(rootfs, 'i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done; exit 1');
    expect(r.exitCode).toBe(1);
    expect(r.lines).toHaveLength(100);
    expect(r.outputTail).toHaveLength(20);
    expect(r.outputTail.at(-1)).toBe('line99');
  });

  it('reports a command killed by a signal', async () => {
    const r = await sh(rootfs, 'kill -SEGV $$');
    // pid 1 ignores signals it has no handler for, except from an ancestor namespace; a subshell is not pid 1.
    expect(r.exitCode === 139 || r.exitCode === 0 || r.signal === 'SIGSEGV').toBe(true);
    const r2 = await sh(rootfs, 'sh -c "kill -KILL \\$\\$"; exit $?');
    expect(r2.exitCode).toBe(137);
  });

  it('applies env, user and workdir, and creates the workdir owned by the user', async () => {
    const r = await sh(rootfs, 'id -u; id -g; pwd; echo "$FOO|$HOME|$PATH"', {
      env: ['FOO=bar baz'],
      user: { uid: 1000, gid: 50, home: '/home/builder' },
      workdir: '/work/dir',
    });
    expect(r.exitCode).toBe(0);
    expect(r.lines).toEqual([
      '1000',
      '50',
      '/work/dir',
      'bar baz|/home/builder|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    const st = await stat(path.join(rootfs, 'work/dir'));
    expect([st.uid, st.gid]).toEqual([1000, 50]);
    expect((await stat(path.join(rootfs, 'work'))).uid).toBe(1000);
  });

  it('gives the command only the env it was given (plus PATH and HOME)', async () => {
    const r = await sh(rootfs, 'env | sort', { env: ['A=1', 'PATH=/bin'] });
    expect(r.lines.filter((l) => !l.startsWith('PWD=') && !l.startsWith('SHLVL='))).toEqual([
      'A=1',
      'HOME=/root',
      'PATH=/bin',
    ]);
  });

  it('passes arguments through untouched (no shell interpolation)', async () => {
    const r = await runStep({
      rootfs,
      argv: ['/bin/echo', '$(touch /pwned)', "'; touch /pwned2; '", '--root=/x', '-n'],
      onOutput: () => {},
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputTail).toEqual(["$(touch /pwned) '; touch /pwned2; ' --root=/x -n"]);
    expect(await exists(path.join(rootfs, 'pwned'))).toBe(false);
  });

  it('resolves user names from the image /etc/passwd and /etc/group', async () => {
    expect(await resolveUser(rootfs, 'builder')).toEqual({
      uid: 1000,
      gid: 1000,
      home: '/home/builder',
      groups: [50],
    });
    expect(await resolveUser(rootfs, 'builder:staff')).toEqual({
      uid: 1000,
      gid: 50,
      home: '/home/builder',
      groups: [50],
    });
    expect(await resolveUser(rootfs, '1000:65534')).toEqual({
      uid: 1000,
      gid: 65534,
      home: '/home/builder',
      groups: [50],
    });
    expect(await resolveUser(rootfs, '4242')).toEqual({ uid: 4242, gid: 0, home: '/', groups: [] });
    expect(await resolveUser(rootfs, undefined)).toEqual({ uid: 0, gid: 0, home: '/root', groups: [] });
    await expect(resolveUser(rootfs, 'nosuch')).rejects.toThrow(/unable to find user nosuch/);
    await expect(resolveUser(rootfs, 'builder:nogrp')).rejects.toThrow(/unable to find group nogrp/);
    await expect(resolveUser(rootfs, 'builder:nogrp')).rejects.toBeInstanceOf(DiagnosticError);
    const u = await resolveUser(rootfs, 'builder');
    const r = await sh(rootfs, 'id -un; id -G; echo $HOME', { user: u });
    expect(r.lines).toEqual(['builder', '1000 50', '/home/builder']);
    const root = await sh(rootfs, 'id -G');
    expect(root.lines).toEqual(['0']);
  });

  it('runs exec form in a rootfs with no shell', async () => {
    const bare = path.join(base, 'bare');
    await mkdir(path.join(bare, 'app'), { recursive: true });
    await copyFile(BUSYBOX, path.join(bare, 'app/busybox'));
    const lines: string[] = [];
    const r = await runStep({
      rootfs: bare,
      argv: ['/app/busybox', 'echo', 'static'],
      onOutput: (l) => lines.push(l.line),
    });
    expect(r.exitCode).toBe(0);
    expect(lines).toEqual(['static']);
    // The stubs made for /proc, /sys, /dev, /etc/… are gone again, /etc included.
    expect((await readdir(bare)).sort()).toEqual(['app']);
    const missing = await runStep({ rootfs: bare, argv: ['/bin/sh', '-c', 'true'], onOutput: () => {} });
    expect(missing.exitCode).not.toBe(0);
  });

  it('runs as pid 1 of a new pid namespace with its own /proc', async () => {
    const r = await sh(rootfs, 'echo $$; ls /proc | grep -E "^[0-9]+$" | wc -l; hostname', {
      hostname: 'builder-7',
    });
    expect(r.lines[0]).toBe('1');
    expect(Number(r.lines[1])).toBeLessThan(5);
    expect(r.lines[2]).toBe('builder-7');
  });

  it("keeps Docker's default capabilities only, and host devices made in the rootfs cannot be opened", async () => {
    const r = await sh(
      rootfs,
      'grep CapBnd /proc/self/status; mkdir -p /tmp/m; mount -t tmpfs t /tmp/m 2>/dev/null && echo mounted; mknod /tmp/blk b 7 0 && echo made; (: < /tmp/blk) 2>/dev/null || echo denied; rm -f /tmp/blk',
    );
    expect(r.lines).toEqual(['CapBnd:\t00000000a80425fb', 'made', 'denied']);
    expect(await mountsUnder(rootfs)).toEqual([]);
    await rm(path.join(rootfs, 'tmp'), { recursive: true, force: true });
  });

  it('network none has only lo, up', async () => {
    const r = await sh(rootfs, 'ls /sys/class/net; ip -o link show lo | grep -c "UP"', { network: 'none' });
    expect(r.exitCode).toBe(0);
    expect(r.lines[0]).toBe('lo');
    expect(r.lines).toHaveLength(2);
    const host = await sh(rootfs, 'ls /sys/class/net | wc -l');
    expect(Number(host.lines[0])).toBeGreaterThan(1);
  });

  it('leaves no mount, process or placeholder behind', async () => {
    const mark = `ROOTC_TEST_MARK=${process.pid}-leftover`;
    const r = await sh(rootfs, 'cat /etc/resolv.conf > /dev/null; sleep 60 & echo started', { env: [mark] });
    expect(r.exitCode).toBe(0);
    expect(await mountsUnder(rootfs)).toEqual([]);
    expect(await processesWithEnv(mark)).toEqual([]);
    expect(await processesIn(rootfs)).toEqual([]);
    for (const p of ['proc', 'sys', 'dev', 'etc/resolv.conf', 'etc/hosts']) {
      expect(await exists(path.join(rootfs, p)), p).toBe(false);
    }
  });

  it('pivots the step onto a skeleton root: out of its chroot, a RUN finds no host files', async () => {
    const mark = `ROOTC_TEST_MARK=${process.pid}-pivot`;
    const p = sh(rootfs, 'sleep 30', { env: [mark] });
    let pids: number[] = [];
    for (let i = 0; i < 400 && pids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      pids = await processesWithEnv(mark);
    }
    expect(pids.length).toBeGreaterThan(0);
    const nsRoot = execFileSync(
      'nsenter',
      ['--mount', '--target', String(pids[0]), '/usr/bin/ls', '-A', '/'],
      {
        encoding: 'utf8',
      },
    ).split('\n');
    expect(nsRoot).toContain('rootfs');
    expect(nsRoot).toContain('usr');
    for (const hostDir of ['etc', 'home', 'root', 'tmp', 'var', 'work'])
      expect(nsRoot).not.toContain(hostDir);
    const old = execFileSync(
      'nsenter',
      ['--mount', '--target', String(pids[0]), '/usr/bin/ls', '-A', '/.old'],
      {
        encoding: 'utf8',
      },
    );
    expect(old).toBe('');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await p;
  });

  it('keeps files the image has and does not write to them', async () => {
    await writeFile(path.join(rootfs, 'etc/hosts'), 'image hosts\n');
    const r = await sh(rootfs, 'cat /etc/hosts; (echo x >> /etc/hosts) 2>/dev/null || echo readonly');
    expect(r.lines.at(-1)).toBe('readonly');
    expect(r.lines[0]).toBe('127.0.0.1\tlocalhost');
    expect(await readFile(path.join(rootfs, 'etc/hosts'), 'utf8')).toBe('image hosts\n');
    await rm(path.join(rootfs, 'etc/hosts'));
  });

  it('stops an aborted step, kills everything in it and cleans up', async () => {
    const ac = new AbortController();
    const mark = `ROOTC_TEST_MARK=${process.pid}-abort`;
    const p = runStep({
      rootfs,
      argv: ['/bin/sh', '-c', 'sleep 100 & sleep 100; echo never'],
      env: [mark],
      signal: ac.signal,
      onOutput: () => {},
    });
    let running: number[] = [];
    for (let i = 0; i < 400 && running.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      running = await processesWithEnv(mark);
    }
    expect(running.length).toBeGreaterThanOrEqual(3); // sh and two sleeps
    const abortedAt = Date.now();
    ac.abort();
    await expect(p).rejects.toThrow(/interrupted/);
    expect(Date.now() - abortedAt).toBeLessThan(10_000);
    expect(await processesWithEnv(mark)).toEqual([]);
    expect(await mountsUnder(rootfs)).toEqual([]);
    expect(await exists(path.join(rootfs, 'proc'))).toBe(false);
  });

  it('puts its scratch where asked and sweeps scratch dirs of dead processes only', async () => {
    const scratch = path.join(base, 'scratch');
    await mkdir(scratch);
    const r = await sh(rootfs, 'true', { scratchDir: scratch });
    expect(r.exitCode).toBe(0);
    expect(await readdir(scratch)).toEqual([]);
    await mkdir(path.join(scratch, 'rootc-run-2147483646-abc'));
    await mkdir(path.join(scratch, `rootc-run-${process.pid}-live`));
    await mkdir(path.join(scratch, 'unrelated'));
    expect(await sweepRunScratch(scratch)).toBe(1);
    expect((await readdir(scratch)).sort()).toEqual([`rootc-run-${process.pid}-live`, 'unrelated']);
  });

  it('handles a rootfs path with spaces, tabs and backslashes', async () => {
    const odd = path.join(base, 'odd dir\\x\ty');
    await makeBusyboxRootfs(odd);
    const r = await sh(odd, 'cat /etc/hosts | head -1; ls /dev/null');
    expect(r.exitCode).toBe(0);
    expect(r.lines).toEqual(['127.0.0.1\tlocalhost', '/dev/null']);
    expect(await mountsUnder(odd)).toEqual([]);
    expect(await exists(path.join(odd, 'proc'))).toBe(false);
  });

  it('never mounts through symlinks planted in the rootfs', async () => {
    const hostile = path.join(base, 'hostile');
    await makeBusyboxRootfs(hostile);
    const outside = path.join(base, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'victim'), 'untouched\n');
    await symlink(path.join(outside, 'victim'), path.join(hostile, 'etc/resolv.conf'));
    await symlink('../../../../../../etc/shadow', path.join(hostile, 'etc/hosts'));
    const before = execFileSync('sha256sum', ['/etc/shadow', path.join(outside, 'victim')], {
      encoding: 'utf8',
    });
    const r = await sh(hostile, 'cat /etc/resolv.conf >/dev/null 2>&1; echo done');
    expect(r.exitCode).toBe(0);
    expect(await readFile(path.join(outside, 'victim'), 'utf8')).toBe('untouched\n');
    expect(
      execFileSync('sha256sum', ['/etc/shadow', path.join(outside, 'victim')], { encoding: 'utf8' }),
    ).toBe(before);
    // The links are still links, and nothing was left where they point inside the root.
    expect((await lstat(path.join(hostile, 'etc/resolv.conf'))).isSymbolicLink()).toBe(true);
    expect(await exists(path.join(hostile, path.join(outside, 'victim')))).toBe(false);
    expect(await exists(path.join(hostile, 'etc/shadow'))).toBe(false);
    expect(await mountsUnder(base)).toEqual([]);

    await symlink(outside, path.join(hostile, 'proc'));
    await expect(sh(hostile, 'true')).rejects.toThrow(/\/proc in the rootfs is a symlink/);
    expect(await mountsUnder(outside)).toEqual([]);
  });
});
