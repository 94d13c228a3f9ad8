import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';

const MAX_SYMLINKS = 255;

/**
 * Resolves `unsafePath` as if `root` were `/`: `..` never climbs above the root, and every symlink met
 * on the way (absolute or relative) is resolved inside the root too, like `filepath-securejoin` (used by
 * runc, umoci, containerd). The result is a host path that is always `root` or below it.
 *
 * With `followFinal` false (the default) a symlink in the last component is not followed, so callers can
 * replace or inspect the link itself. Missing components are fine: the rest is appended literally.
 */
export function resolveInRoot(
  root: string,
  unsafePath: string,
  options: { followFinal?: boolean } = {},
): string {
  const absRoot = path.resolve(root);
  const pending = splitComponents(unsafePath);
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(absRoot, ...resolved, part);
    const isLast = pending.length === 0;
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch {
      // Missing: the rest of the path cannot contain links yet.
      resolved.push(part);
      continue;
    }
    if (!isLink || (isLast && !options.followFinal)) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINKS) throw new Error(`too many levels of symbolic links resolving ${unsafePath}`);
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...splitComponents(target));
  }
  return path.join(absRoot, ...resolved);
}

/** Normalizes an image path to its clean absolute form (`/a/b`), `..` clamped at `/`. */
export function cleanImagePath(p: string): string {
  const out: string[] = [];
  for (const part of splitComponents(p)) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

function splitComponents(p: string): string[] {
  return p.split('/').filter((s) => s.length > 0);
}
