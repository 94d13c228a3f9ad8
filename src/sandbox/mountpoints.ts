import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, rmdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { resolveInRoot } from '../fsutil/securejoin.js';

const execFileP = promisify(execFile);

/**
 * Mount points a RUN step needs inside the rootfs (/proc, /sys, /dev, /etc/resolv.conf, /etc/hosts).
 * What is missing is created as an empty stub and removed after the step if it is still empty, with
 * the parent directory's timestamps restored to the nanosecond — BuildKit's `MountStubsCleaner` — so a
 * RUN never adds /etc/resolv.conf or /proc to a layer unless the image had them.
 */
export class MountStubs {
  private readonly created: {
    hostPath: string;
    parent: string;
    parentMtimeNs: bigint;
  }[] = [];

  constructor(readonly rootfs: string) {}

  /**
   * A directory mount point (`/proc`, `/sys`, `/dev`): the host path, symlink-free. A symlink or a
   * non-directory there is refused rather than followed: mounting through it could land outside the root.
   */
  async dir(imagePath: string): Promise<string> {
    const hostPath = resolveInRoot(this.rootfs, imagePath);
    const st = await lstatOrUndefined(hostPath);
    if (st === undefined) {
      await this.createStubs(hostPath, 'dir');
      return hostPath;
    }
    if (!st.isDirectory()) {
      throw new DiagnosticError(
        error(
          'build/bad-mount-point',
          `${imagePath} in the rootfs is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to mount over it`,
        ),
      );
    }
    return hostPath;
  }

  /**
   * A file mount point (`/etc/resolv.conf`, `/etc/hosts`). A symlink in the image is followed, inside the
   * root (Debian's resolv.conf → ../run/…). Returns undefined when the target is not a regular file or its
   * directory does not exist beyond /etc (the file is then simply not provided).
   */
  async file(imagePath: string): Promise<string | undefined> {
    const hostPath = resolveInRoot(this.rootfs, imagePath, { followFinal: true });
    const st = await lstatOrUndefined(hostPath);
    if (st !== undefined) return st.isFile() ? hostPath : undefined;
    const parent = path.dirname(hostPath);
    const pst = await lstatOrUndefined(parent);
    if (pst === undefined) {
      // Only create a missing /etc, never a tree a symlink pointed us to.
      if (parent !== path.join(path.resolve(this.rootfs), 'etc')) return undefined;
      await this.createStubs(parent, 'dir');
    } else if (!pst.isDirectory()) return undefined;
    await this.createStubs(hostPath, 'file');
    return hostPath;
  }

  private async createStubs(hostPath: string, kind: 'dir' | 'file'): Promise<void> {
    const parent = path.dirname(hostPath);
    const pst = await lstat(parent, { bigint: true });
    if (kind === 'dir') await mkdir(hostPath, { mode: 0o755 });
    else await writeFile(hostPath, '', { mode: 0o644, flag: 'wx' });
    this.created.push({ hostPath, parent, parentMtimeNs: pst.mtimeNs });
  }

  /**
   * Removes the stubs still empty, deepest first, then puts back each parent's times as they were before
   * the first stub was made in it (one `touch` per parent: /proc, /sys, /dev share the root). Never throws.
   */
  async cleanup(): Promise<void> {
    const parents = new Map<string, bigint>();
    for (const stub of this.created)
      if (!parents.has(stub.parent)) parents.set(stub.parent, stub.parentMtimeNs);
    for (const stub of [...this.created].reverse()) {
      try {
        const st = await lstat(stub.hostPath);
        if (st.isDirectory()) {
          if ((await readdir(stub.hostPath)).length > 0) continue;
          await rmdir(stub.hostPath);
        } else {
          if (!st.isFile() || st.size !== 0) continue;
          await unlink(stub.hostPath);
        }
      } catch {
        // Best effort: a stub the step replaced is the step's own content.
      }
    }
    for (const [parent, mtimeNs] of parents) {
      if (this.created.some((s) => s.hostPath === parent)) continue; // itself a stub, gone or kept
      await setTimesNs(parent, mtimeNs).catch(() => undefined);
    }
    this.created.length = 0;
  }
}

/**
 * Sets a path's atime and mtime with nanosecond precision (libuv's utimes takes a double and loses
 * the nanoseconds, which would make the directory look changed to the copy driver). `-h`: never follow.
 */
export async function setTimesNs(hostPath: string, mtimeNs: bigint): Promise<void> {
  const sec = mtimeNs / 1_000_000_000n;
  const nsec = (mtimeNs % 1_000_000_000n).toString().padStart(9, '0');
  await execFileP('touch', ['-h', '-d', `@${sec}.${nsec}`, '--', hostPath]);
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw err;
  }
}
