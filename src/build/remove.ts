/**
 * REMOVE <path or glob>…: deletes files without needing a shell in the image. Patterns are image paths
 * (relative ones against WORKDIR) whose components may hold Go path.Match wildcards; every directory is
 * resolved inside the rootfs, and a matched symlink is removed itself, never followed.
 */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { byteOrder } from '../context/context.js';
import { goMatch, hasWildcards } from '../context/patterns.js';
import { cleanImagePath, resolveInRoot } from '../fsutil/securejoin.js';

export interface RemoveResult {
  /** Image paths removed, in order. */
  removed: string[];
  /** Patterns that matched nothing (reported as warnings: REMOVE is idempotent, like `rm -rf`). */
  unmatched: string[];
}

export function removeFromRootfs(rootfs: string, patterns: readonly string[], workdir = '/'): RemoveResult {
  const result: RemoveResult = { removed: [], unmatched: [] };
  for (const pattern of patterns) {
    const abs = cleanImagePath(pattern.startsWith('/') ? pattern : path.posix.join(workdir, pattern));
    if (abs === '/') throw new Error('REMOVE / would delete the whole image');
    const matches = expandInRoot(rootfs, abs);
    if (matches.length === 0) result.unmatched.push(pattern);
    for (const imagePath of matches) {
      rmSync(resolveInRoot(rootfs, imagePath), { recursive: true, force: true });
      result.removed.push(imagePath);
    }
  }
  return result;
}

/** Image paths matching a clean absolute pattern, each existing (lstat) inside the rootfs. */
export function expandInRoot(rootfs: string, pattern: string): string[] {
  const parts = pattern.split('/').filter(Boolean);
  let current = ['/'];
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const dir of current) {
      if (!hasWildcards(part)) {
        next.push(path.posix.join(dir, part));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(resolveInRoot(rootfs, dir, { followFinal: true }));
      } catch {
        continue;
      }
      for (const name of names.sort(byteOrder))
        if (goMatch(part, name)) next.push(path.posix.join(dir, name));
    }
    current = last ? next : next.filter((p) => isDirInRoot(rootfs, p));
  }
  return current.filter((p) => exists(resolveInRoot(rootfs, p)));
}

function isDirInRoot(rootfs: string, imagePath: string): boolean {
  try {
    return lstatSync(resolveInRoot(rootfs, imagePath, { followFinal: true })).isDirectory();
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
