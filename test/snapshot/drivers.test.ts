import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyDriver } from '../../src/snapshot/copy.js';
import { detectDriver, openDriver, SNAPSHOTTER_ENV } from '../../src/snapshot/detect.js';
import { OverlayDriver } from '../../src/snapshot/overlay.js';
import type { SnapshotDriver } from '../../src/snapshot/types.js';
import { IS_ROOT, mountsUnder, tempDir } from '../sandbox/helpers.js';
import { describeEntries } from './helpers.js';

/** A listing of a directory with contents, to show it did not change. */
function fingerprint(dir: string): string {
  return execFileSync(
    'sh',
    [
      '-c',
      'cd "$1" && find . -printf "%p %y %m %U:%G %s %T@\\n" | sort && find . -type f -exec sha256sum {} + | sort',
      'sh',
      dir,
    ],
    {
      encoding: 'utf8',
    },
  );
}

const drivers: [string, (root: string) => SnapshotDriver][] = [
  ['overlay', (root) => new OverlayDriver(root)],
  ['copy', (root) => new CopyDriver(root)],
];

describe.skipIf(!IS_ROOT).each(drivers)('%s driver', (kind, make) => {
  let dir: string;
  let driver: SnapshotDriver;
  beforeAll(async () => {
    dir = await tempDir();
    driver = make(path.join(dir, 'store'));
    const base = await driver.prepare(undefined);
    await mkdir(path.join(base.rootfs, 'etc'));
    await writeFile(path.join(base.rootfs, 'etc/a'), 'a\n');
    await writeFile(path.join(base.rootfs, 'etc/b'), 'b\n');
    await base.commit('base');
    await base.release();
  });
  afterAll(async () => {
    await driver.close();
    expect(await mountsUnder(dir)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('commits atomically under the key and leaves no temp dir', async () => {
    const store = path.join(dir, 'store');
    expect(await readdir(path.join(store, 'snapshots'))).toEqual(['base']);
    expect((await readdir(path.join(store, 'snapshots/base'))).sort()).toEqual(['fs', 'meta.json']);
    expect(await readdir(path.join(store, 'tmp')).catch(() => [])).toEqual([]);
    expect(await driver.has('base')).toBe(true);
    expect(await driver.has('nope')).toBe(false);
    expect(await driver.parentOf('base')).toBeUndefined();
    const a = await driver.prepare('base');
    // Work in progress is never visible under a key.
    expect(await readdir(path.join(store, 'snapshots'))).toEqual(['base']);
    await a.release();
  });

  it('keeps a committed snapshot immutable while later steps change the tree', async () => {
    const before = fingerprint(path.join(dir, 'store/snapshots/base'));
    const s = await driver.prepare('base');
    await writeFile(path.join(s.rootfs, 'etc/a'), 'changed\n');
    await rm(path.join(s.rootfs, 'etc/b'));
    await s.commit('s1');
    await s.release();
    expect(fingerprint(path.join(dir, 'store/snapshots/base'))).toBe(before);
    expect(await driver.parentOf('s1')).toBe('base');
    expect(await describeEntries(driver.diff('s1'))).toEqual([
      'etc directory 755 0:0',
      'etc/.wh.b file 0 0:0 sha256:e3b0c44298fc size:0',
      expect.stringMatching(/^etc\/a file 644 0:0 sha256:\w+ size:8$/),
    ]);
  });

  it('keeps the first snapshot when two builds commit the same key', async () => {
    const one = await driver.prepare('base');
    const two = await driver.prepare('base');
    await writeFile(path.join(one.rootfs, 'x'), 'one');
    await writeFile(path.join(two.rootfs, 'x'), 'two');
    await one.commit('same');
    await two.commit('same');
    await one.release();
    await two.release();
    expect(await readFile(path.join(dir, 'store/snapshots/same/fs/x'), 'utf8')).toBe('one');
    expect(await readdir(path.join(dir, 'store/tmp'))).toEqual([]);
  });

  it('builds on committed snapshots from another driver instance (a later build)', async () => {
    const later = make(path.join(dir, 'store'));
    const s = await later.prepare('s1');
    expect(await readFile(path.join(s.rootfs, 'etc/a'), 'utf8')).toBe('changed\n');
    expect((await readdir(path.join(s.rootfs, 'etc'))).sort()).toEqual(['a']);
    await s.release();
    // And from a parent other than the last one committed (the copy driver rebuilds the tree).
    const b = await later.prepare('base');
    expect((await readdir(path.join(b.rootfs, 'etc'))).sort()).toEqual(['a', 'b']);
    expect(await readFile(path.join(b.rootfs, 'etc/a'), 'utf8')).toBe('a\n');
    await b.release();
    await later.close();
  });

  it('gives the diff of the active tree before the commit', async () => {
    const s = await driver.prepare('s1');
    await mkdir(path.join(s.rootfs, 'new'));
    expect(await describeEntries(s.diff())).toEqual(['new directory 755 0:0']);
    await s.release();
    expect(await readdir(path.join(dir, 'store/tmp'))).toEqual([]);
  });

  it('sweeps what a killed build left, never a live one', async () => {
    const store = path.join(dir, 'store');
    const live = await driver.prepare('base');
    await mkdir(path.join(store, 'tmp', '2147483646-dead-build'), { recursive: true });
    await writeFile(path.join(store, 'tmp', '2147483646-dead-build', 'f'), 'x');
    await mkdir(path.join(store, 'work', '2147483645-dead-tree'), { recursive: true });
    expect(await driver.sweep()).toBe(2);
    const work = await readdir(path.join(store, 'work'));
    expect(work).not.toContain('2147483645-dead-tree');
    if (kind === 'copy') expect(work).toContain(path.basename(live.rootfs));
    await writeFile(path.join(live.rootfs, 'still-here'), 'x');
    await live.release();
    expect(await readdir(path.join(store, 'tmp'))).toEqual([]);
  });

  // Only overlay has a limit here (its lowerdir option must fit in one page).
  it.runIf(kind === 'overlay')(
    'stacks a long chain of steps with full-length keys',
    async () => {
      let parent = 'base';
      const { createHash } = await import('node:crypto');
      for (let i = 0; i < 62; i++) {
        const s = await driver.prepare(parent);
        await writeFile(path.join(s.rootfs, `f${i}`), String(i));
        parent = await s.commit(createHash('sha256').update(`long ${i}`).digest('hex'));
        await s.release();
      }
      const top = await driver.prepare(parent);
      expect((await readdir(top.rootfs)).filter((n) => n.startsWith('f'))).toHaveLength(62);
      await top.release();
    },
    240_000,
  );

  it('reuses a tree released unchanged (copy: no rebuild)', async () => {
    const a = await driver.prepare('s1');
    const first = a.rootfs;
    await readFile(path.join(a.rootfs, 'etc/a'));
    await a.release();
    const b = await driver.prepare('s1');
    if (kind === 'copy') expect(b.rootfs).toBe(first);
    await writeFile(path.join(b.rootfs, 'changed'), 'x');
    await b.release();
    const c = await driver.prepare('s1');
    expect(c.rootfs).not.toBe(first);
    expect(await readdir(c.rootfs)).not.toContain('changed');
    await c.release();
  });

  it('adopts a finished tree as a bottom snapshot, by moving it', async () => {
    const store = path.join(dir, 'store');
    const tree = path.join(dir, `tree-${kind}`);
    await mkdir(path.join(tree, 'usr'), { recursive: true });
    await writeFile(path.join(tree, 'usr/x'), 'x\n');
    await driver.adopt(tree, 'adopted');
    expect(existsSync(tree)).toBe(false);
    expect(await driver.has('adopted')).toBe(true);
    expect(await driver.parentOf('adopted')).toBeUndefined();
    const a = await driver.prepare('adopted');
    expect(await readFile(path.join(a.rootfs, 'usr/x'), 'utf8')).toBe('x\n');
    await writeFile(path.join(a.rootfs, 'usr/y'), 'y\n');
    await a.commit('on-adopted');
    await a.release();
    // The adopted tree is the lower of the next step: only that step's change is in its layer.
    const diff = await describeEntries(driver.diff('on-adopted'));
    expect(diff.map((l) => l.split(' ')[0])).toEqual(['usr', 'usr/y']);
    // Another tree for a key that exists already is dropped; nothing is left in tmp/.
    const again = path.join(dir, `again-${kind}`);
    await mkdir(again);
    await writeFile(path.join(again, 'other'), 'o');
    await driver.adopt(again, 'adopted');
    expect(existsSync(again)).toBe(false);
    expect(existsSync(path.join(store, 'snapshots/adopted/fs/other'))).toBe(false);
    expect(await readdir(path.join(store, 'tmp')).catch(() => [])).toEqual([]);
    // A tree it cannot move: an error, and nothing published or left behind.
    await expect(driver.adopt(path.join(dir, 'no-such-tree'), 'never')).rejects.toThrow(/ENOENT/);
    expect(await driver.has('never')).toBe(false);
    expect(await readdir(path.join(store, 'tmp')).catch(() => [])).toEqual([]);
  });

  it('refuses keys that are not plain names', async () => {
    const s = await driver.prepare('base');
    await expect(s.commit('../evil')).rejects.toThrow(/invalid snapshot key/);
    await expect(s.commit('a:b')).rejects.toThrow(/invalid snapshot key/);
    await s.release();
    expect(kind).toMatch(/overlay|copy/);
  });
});

describe.skipIf(!IS_ROOT)('detectDriver', () => {
  it('finds overlayfs usable here, and honours the override', async () => {
    const dir = await tempDir();
    try {
      expect(await detectDriver(dir)).toBe('overlay');
      process.env[SNAPSHOTTER_ENV] = 'copy';
      expect(await detectDriver(dir)).toBe('copy');
      expect(openDriver('copy', dir).root).toBe(path.join(dir, 'snapshots/copy'));
      process.env[SNAPSHOTTER_ENV] = 'zfs';
      await expect(detectDriver(dir)).rejects.toThrow(/ROOTC_SNAPSHOTTER/);
    } finally {
      delete process.env[SNAPSHOTTER_ENV];
      expect(await mountsUnder(dir)).toEqual([]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
