/**
 * Device nodes a user namespace cannot make (issue 7): extraction leaves a marked empty file with the node's
 * mode and owner, and statToSpec (what the snapshot diffs and REMOVE see) turns it back into the node.
 */
import { lstatSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_PLACEHOLDER_XATTR, readXattr } from '../../src/fsutil/xattr.js';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { applyEntries } from '../../src/tar/extract.js';
import { statToSpec } from '../../src/tar/tree.js';
import { tempDir } from '../support/index.js';

const node = (p: string, type: 'char' | 'block', major: number, minor: number): TarEntrySpec => ({
  path: p,
  type,
  mode: 0o620,
  uid: 0,
  gid: 5,
  mtime: 1_000,
  devmajor: major,
  devminor: minor,
});

describe('device node placeholders', () => {
  it('stand in for nodes mknod could not make, and read back as those nodes', async () => {
    const root = await tempDir('placeholders');
    const dev = { path: 'dev', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 1 } as const;
    const report = await applyEntries(
      [dev, node('dev/tty1', 'char', 4, 1), node('dev/sda', 'block', 8, 0)],
      root,
      {
        mknod: false,
        nodePlaceholders: true,
      },
    );
    expect(report.skippedNodes.map((n) => n.path)).toEqual(['/dev/tty1', '/dev/sda']);
    const host = path.join(root, 'dev/tty1');
    const st = lstatSync(host);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o620);
    expect(readXattr(host, NODE_PLACEHOLDER_XATTR)?.toString()).toBe('char:4:1');
    const spec = statToSpec(host, 'dev/tty1', st);
    expect(spec).toMatchObject({ type: 'char', devmajor: 4, devminor: 1, mode: 0o620 });
    expect(spec?.size).toBeUndefined();
    expect(spec?.xattrs).toBeUndefined(); // the marker never reaches a layer
    const sda = path.join(root, 'dev/sda');
    expect(statToSpec(sda, 'dev/sda', lstatSync(sda))).toMatchObject({
      type: 'block',
      devmajor: 8,
      devminor: 0,
    });
    rmSync(root, { recursive: true, force: true });
  });

  it('are not made unless asked (the node is only recorded)', async () => {
    const root = await tempDir('placeholders');
    const report = await applyEntries([node('tty1', 'char', 4, 1)], root, { mknod: false });
    expect(report.skippedNodes).toHaveLength(1);
    expect(lstatSync(path.join(root, 'tty1'), { throwIfNoEntry: false })).toBeUndefined();
  });
});
