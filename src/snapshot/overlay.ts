import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readlink, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { TarEntrySpec } from '../tar/entry.js';
import { CommittedSnapshots } from './committed.js';
import { diffDirEntries } from './diffdir.js';
import type { ActiveSnapshot, SnapshotDriver } from './types.js';

const execFileP = promisify(execFile);

/**
 * overlayfs driver (Docker's overlay2, BuildKit's overlay snapshotter): a step's tree is an overlay mount
 * of its ancestors' diff dirs (read-only lowers, nearest first) and a fresh upper dir, which after the
 * step IS the step's diff. Mounted with redirect_dir, metacopy and index off, so the upper dir holds
 * full copies and plain whiteouts that `diffDirEntries` can read, and a committed diff dir can serve as
 * a lower of any later build. Mounts must be made inside the build namespace (see sandbox/namespace.ts).
 */
export class OverlayDriver extends CommittedSnapshots implements SnapshotDriver {
  readonly kind = 'overlay' as const;
  /** Whether this kernel takes `volatile` (Linux ≥ 5.10); learnt from the first mount. */
  private volatile: boolean | undefined;

  /**
   * Mounts with `volatile` where the kernel has it. Unmounting an overlay otherwise syncs the whole
   * upper filesystem (ovl_sync_fs → sync_filesystem): every step waited for the writeback of all the
   * layers, trees and blobs written before it, ~0.5 s per 300 MB dirty here. A build needs no
   * durability from the mount (podman mounts its containers' overlays volatile for the same reason):
   * what the cache keeps is published by rename, as before. Each mount has its own fresh work dir, so
   * the `incompat/volatile` marker a volatile mount leaves is never met again.
   */
  private async mount(options: string, merged: string): Promise<void> {
    const run = (opts: string) =>
      execFileP('mount', ['-t', 'overlay', 'overlay', '-o', opts, merged], { cwd: this.root });
    if (this.volatile !== false) {
      try {
        await run(`${options},volatile`);
        this.volatile = true;
        return;
      } catch (err) {
        if (this.volatile) throw err;
      }
    }
    await run(options);
    this.volatile = false;
  }

  async close(): Promise<void> {}

  /** `l/<12 hex>` → `../snapshots/<key>/fs`, made once per key (a symlink appears atomically). */
  private async shortLink(key: string): Promise<string> {
    const name = `l/${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    const target = `../snapshots/${key}/fs`;
    const link = path.join(this.root, name);
    try {
      if ((await readlink(link)) === target) return name;
      await rm(link, { force: true });
    } catch {
      await mkdir(path.dirname(link), { recursive: true });
    }
    try {
      await symlink(target, link);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || (await readlink(link)) !== target) throw err;
    }
    return name;
  }

  async prepare(parent: string | undefined): Promise<ActiveSnapshot> {
    const chain = await this.store.chain(parent);
    const temp = await this.store.newTemp();
    const upper = path.join(temp, 'fs');
    const work = path.join(temp, 'work');
    const merged = path.join(temp, 'merged');
    await Promise.all([mkdir(upper), mkdir(work), mkdir(merged)]);
    // Short relative lowerdirs (overlay2's l/ links, mount run in the driver's root): the mount options
    // are limited to one page, so 64-hex keys would cap a chain near 58 layers; 14 bytes each allow ~290.
    let lowers = await Promise.all(chain.map((k) => this.shortLink(k)));
    if (lowers.length === 0) {
      await mkdir(path.join(temp, 'empty'));
      lowers = [path.join(temp, 'empty')];
    }
    const options = [
      `lowerdir=${lowers.join(':')}`,
      `upperdir=${upper}`,
      `workdir=${work}`,
      // userxattr refuses redirect_dir=off (it forces "nofollow", which creates no redirects either).
      ...(this.userxattr ? ['userxattr', 'redirect_dir=nofollow'] : ['redirect_dir=off']),
      'metacopy=off',
      'index=off',
    ].join(',');
    try {
      await this.mount(options, merged);
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      throw new DiagnosticError(
        error('build/overlay-mount', `cannot mount overlayfs for a build step: ${stderrOf(err)}`, undefined, {
          notes: [{ message: 'set ROOTC_SNAPSHOTTER=copy to build without overlayfs' }],
        }),
      );
    }
    return new OverlayActive(this, parent, chain, temp, merged);
  }
}

class OverlayActive implements ActiveSnapshot {
  private mounted = true;
  private done = false;

  constructor(
    private readonly driver: OverlayDriver,
    readonly parent: string | undefined,
    private readonly chain: string[],
    private readonly temp: string,
    readonly rootfs: string,
  ) {}

  diff(): AsyncIterable<TarEntrySpec> {
    return diffDirEntries(path.join(this.temp, 'fs'), {
      lowers: this.chain.map((k) => this.driver.store.fsDir(k)),
      pruneUnchangedDirs: true,
      userxattr: this.driver.userxattr,
    });
  }

  async commit(key: string): Promise<string> {
    if (this.done) throw new Error('snapshot already committed or released');
    await this.unmount();
    await rm(path.join(this.temp, 'work'), { recursive: true, force: true });
    await rm(this.rootfs, { recursive: true, force: true });
    await rm(path.join(this.temp, 'empty'), { recursive: true, force: true });
    const published = await this.driver.store.publish(this.temp, key, {
      ...(this.parent !== undefined ? { parent: this.parent } : {}),
      prunedDirs: true,
    });
    if (!published) await rm(this.temp, { recursive: true, force: true });
    this.done = true;
    return key;
  }

  async release(): Promise<void> {
    if (this.mounted) await this.unmount();
    if (!this.done) await rm(this.temp, { recursive: true, force: true });
    this.done = true;
  }

  private async unmount(): Promise<void> {
    if (!this.mounted) return;
    try {
      await execFileP('umount', [this.rootfs]);
    } catch {
      // Something still holds it (a process that escaped?): detach it so the build can go on.
      await execFileP('umount', ['-l', this.rootfs]);
    }
    this.mounted = false;
  }
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr ?? e.message ?? String(err)).trim();
}
