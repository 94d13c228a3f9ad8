import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStep } from '../../src/sandbox/run.js';
import { CopyDriver } from '../../src/snapshot/copy.js';
import { OverlayDriver } from '../../src/snapshot/overlay.js';
import type { SnapshotDriver } from '../../src/snapshot/types.js';
import { CAN_RUN, makeBusyboxRootfs, mountsUnder, tempDir } from '../sandbox/helpers.js';
import { describeEntries } from './helpers.js';

const HAVE_SETCAP = (() => {
  try {
    execFileSync('setcap', ['-v', 'cap_net_raw+ep', '/nonexistent'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as { status?: number }).status !== 127 && (e as { code?: string }).code !== 'ENOENT';
  }
})();

type Step = { sh: string } | { host: (rootfs: string) => void };

const STEPS: Step[] = [
  {
    sh: [
      'mkdir -p /data/sub /data/gone',
      'echo one > /data/a',
      'echo two > /data/sub/b',
      'echo old > /data/gone/x',
      'echo keep > /etc/keep',
      'echo mode > /etc/mode',
      'ln -s ../etc/keep /data/link',
      'ln /data/a /data/a-hard',
      'mkfifo /data/fifo',
      'cp /bin/busybox /data/suid && chmod 4755 /data/suid',
      'chown 1000:50 /data/sub/b',
    ].join(' && '),
  },
  ...(HAVE_SETCAP
    ? [
        {
          host: (rootfs: string) =>
            execFileSync('setcap', ['cap_net_raw+ep', path.join(rootfs, 'data/suid')]),
        },
      ]
    : []),
  {
    sh: [
      'echo more >> /etc/keep',
      'chmod 600 /etc/mode',
      'chown 1000:1000 /data/sub',
      'rm /data/fifo',
      'rm -rf /data/gone && mkdir /data/gone && echo new > /data/gone/y',
      'rm /bin/yes',
      'ln -s /nowhere /data/dangling',
      'mkdir -p /data/deep/er && echo z > /data/deep/er/z',
    ].join(' && '),
  },
  { sh: 'rm -rf /data/deep /etc/keep && echo x > /etc/keep2' },
  { sh: 'true' },
];

async function runSequence(driver: SnapshotDriver, baseTree: string): Promise<string[][]> {
  const layers: string[][] = [];
  const base = await driver.prepare(undefined);
  execFileSync('cp', ['-a', `${baseTree}/.`, base.rootfs]);
  await base.commit('base');
  await base.release();
  layers.push(await describeEntries(driver.diff('base')));
  let parent = 'base';
  for (const [i, step] of STEPS.entries()) {
    const active = await driver.prepare(parent);
    try {
      if ('sh' in step) {
        const r = await runStep({ rootfs: active.rootfs, argv: ['/bin/sh', '-c', step.sh] });
        expect(r.exitCode, r.outputTail.join('\n')).toBe(0);
      } else step.host(active.rootfs);
      parent = await active.commit(`step${i}`);
    } finally {
      await active.release();
    }
    layers.push(await describeEntries(driver.diff(parent)));
  }
  await driver.close();
  return layers;
}

describe.skipIf(!CAN_RUN)('overlay and copy drivers give the same layers', () => {
  let dir: string;
  let overlay: string[][];
  let copy: string[][];
  beforeAll(async () => {
    dir = await tempDir();
    const baseTree = await makeBusyboxRootfs(path.join(dir, 'base'));
    overlay = await runSequence(new OverlayDriver(path.join(dir, 'overlay')), baseTree);
    copy = await runSequence(new CopyDriver(path.join(dir, 'copy')), baseTree);
  }, 120_000);
  afterAll(async () => {
    expect(await mountsUnder(dir)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('base layer', () => {
    expect(copy[0]).toEqual(overlay[0]);
    expect(overlay[0]!.some((l) => l.startsWith('bin/busybox file 755 0:0 sha256:'))).toBe(true);
    expect(overlay[0]).toContain('bin/sh symlink 777 0:0 -> busybox');
  });

  it('a tree rebuilt from the copy snapshots equals the overlay mount of the same chain', async () => {
    const view = (root: string) =>
      execFileSync(
        'sh',
        [
          '-c',
          'cd "$1" && find . -printf "%p %y %m %U:%G %s %l\\n" | sort && find . -type f -exec sha256sum {} + | sort && getcap -r . | sort',
          'sh',
          root,
        ],
        { encoding: 'utf8' },
      );
    const last = `step${STEPS.length - 1}`;
    const o = await new OverlayDriver(path.join(dir, 'overlay')).prepare(last);
    const c = await new CopyDriver(path.join(dir, 'copy')).prepare(last);
    try {
      expect(view(c.rootfs)).toBe(view(o.rootfs));
      expect(view(o.rootfs)).toContain('./data/gone/y f 644 0:0 4');
    } finally {
      await o.release();
      await c.release();
    }
  });

  it('every step', () => {
    for (let i = 1; i < overlay.length; i++) {
      expect({ step: i, entries: copy[i] }).toEqual({ step: i, entries: overlay[i] });
    }
  });

  it('has whiteouts, an opaque directory, hardlinks, symlinks, a fifo, setuid and owners', () => {
    const strip = (l: string) => l.replace(/ sha256:\w+/, '');
    const step0 = overlay[1]!.map(strip);
    expect(step0).toEqual(
      expect.arrayContaining([
        'data/a file 644 0:0 size:4',
        'data/a-hard hardlink 644 0:0 -> data/a',
        'data/fifo fifo 644 0:0',
        'data/link symlink 777 0:0 -> ../etc/keep',
        'data/sub/b file 644 1000:50 size:4',
        'data/suid file 4755 0:0 size:1982256',
      ]),
    );
    const step2 = overlay[HAVE_SETCAP ? 3 : 2]!.map(strip);
    expect(step2).toEqual([
      'bin directory 755 0:0',
      'bin/.wh.yes file 0 0:0 size:0',
      'data directory 755 0:0',
      'data/.wh.fifo file 0 0:0 size:0',
      'data/dangling symlink 777 0:0 -> /nowhere',
      'data/deep directory 755 0:0',
      'data/deep/er directory 755 0:0',
      'data/deep/er/z file 644 0:0 size:2',
      'data/gone directory 755 0:0',
      'data/gone/.wh..wh..opq file 0 0:0 size:0',
      'data/gone/y file 644 0:0 size:4',
      'data/sub directory 755 1000:1000',
      'etc directory 755 0:0',
      'etc/keep file 644 0:0 size:10',
      'etc/mode file 600 0:0 size:5',
    ]);
    expect(overlay.at(-2)!.map(strip)).toEqual([
      'data directory 755 0:0',
      'data/.wh.deep file 0 0:0 size:0',
      'etc directory 755 0:0',
      'etc/.wh.keep file 0 0:0 size:0',
      'etc/keep2 file 644 0:0 size:2',
    ]);
    // RUN true: no /proc, /dev, /etc/resolv.conf or /etc/hosts stubs, no copied-up directories.
    expect(overlay.at(-1)).toEqual([]);
    if (HAVE_SETCAP) {
      expect(overlay[2]!.map(strip)).toContain(
        'data/suid file 4755 0:0 size:1982256 xattrs:security.capability=0100000200200000000000000000000000000000',
      );
    }
  });
});
