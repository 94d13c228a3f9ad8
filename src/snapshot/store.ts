import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../fsutil/process.js';
import { checkKey } from './types.js';

/**
 * On-disk layout shared by both drivers (one root per driver kind):
 *
 * ```
 * <root>/snapshots/<key>/fs         the step's changes, overlayfs upper-dir format (immutable once here)
 * <root>/snapshots/<key>/meta.json  { parent, prunedDirs }
 * <root>/tmp/<pid>-<random>/        work in progress: fs/ (upper), work/, merged/
 * <root>/work/<pid>-<random>/       the copy driver's working trees
 * ```
 *
 * A snapshot becomes visible only by the rename of its finished temp dir, so a killed build leaves at
 * most a temp dir (swept by `sweepTemp`), never a half snapshot.
 */
export interface SnapshotMeta {
  parent?: string;
  /** Whether the diff dir may hold directories copied up without change (overlay) to be pruned on read. */
  prunedDirs: boolean;
}

export class SnapshotStore {
  constructor(readonly root: string) {}

  snapshotDir(key: string): string {
    return path.join(this.root, 'snapshots', checkKey(key));
  }

  fsDir(key: string): string {
    return path.join(this.snapshotDir(key), 'fs');
  }

  async has(key: string): Promise<boolean> {
    try {
      await stat(path.join(this.snapshotDir(key), 'meta.json'));
      return true;
    } catch {
      return false;
    }
  }

  async meta(key: string): Promise<SnapshotMeta> {
    try {
      return JSON.parse(
        await readFile(path.join(this.snapshotDir(key), 'meta.json'), 'utf8'),
      ) as SnapshotMeta;
    } catch {
      throw new Error(`snapshot ${key} does not exist in ${this.root}`);
    }
  }

  /** Keys from `key` down to the bottom snapshot (nearest first). */
  async chain(key: string | undefined): Promise<string[]> {
    const keys: string[] = [];
    let cur = key;
    while (cur !== undefined) {
      if (keys.includes(cur)) throw new Error(`snapshot chain loops at ${cur}`);
      keys.push(cur);
      cur = (await this.meta(cur)).parent;
    }
    return keys;
  }

  /** A fresh temp dir under tmp/ (or `work/` for the copy driver's trees), named `<pid>-…` for `sweep`. */
  async newTemp(area: 'tmp' | 'work' = 'tmp'): Promise<string> {
    const dir = path.join(this.root, area, tempName());
    await mkdir(dir, { recursive: true });
    await mkdir(path.join(this.root, 'snapshots'), { recursive: true });
    return dir;
  }

  /**
   * Publishes `tempDir` (which holds `fs/`) as snapshot `key`. Returns false when the key already existed
   * (then the caller drops its copy: same key, same content).
   */
  async publish(tempDir: string, key: string, meta: SnapshotMeta): Promise<boolean> {
    await writeFile(path.join(tempDir, 'meta.json'), `${JSON.stringify(meta)}\n`);
    try {
      await rename(tempDir, this.snapshotDir(key));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    // Rename first so a concurrent reader never sees a half-deleted snapshot under its key.
    const doomed = path.join(this.root, 'tmp', tempName('rm'));
    await mkdir(path.dirname(doomed), { recursive: true });
    try {
      await rename(this.snapshotDir(key), doomed);
    } catch {
      return;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  /**
   * Deletes what killed builds left in tmp/ and work/: entries whose creating process is gone and with
   * nothing mounted below them (a live build's overlay is never touched). Returns how many were removed.
   */
  async sweep(): Promise<number> {
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const mountPoints = mountinfo.split('\n').map((l) => l.split(' ')[4] ?? '');
    let removed = 0;
    for (const area of ['tmp', 'work']) {
      const dir = path.join(this.root, area);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const pid = Number(name.split('-')[0]);
        if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
        const full = path.join(dir, name);
        if (mountPoints.some((m) => m === full || m.startsWith(`${full}/`))) continue;
        await rm(full, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }
}

function tempName(tag?: string): string {
  return [process.pid, tag, Date.now().toString(36), randomBytes(6).toString('hex')]
    .filter(Boolean)
    .join('-');
}
