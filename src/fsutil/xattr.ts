import { createRequire } from 'node:module';

/**
 * Extended attributes through @napi-rs/xattr, which uses the l* syscalls (a symlink's own attributes, never
 * its target's). Loaded lazily; where it cannot load, or the filesystem has no xattrs, reads return nothing
 * and writes report `false`, so a tree without xattrs still round-trips.
 */
interface XattrBinding {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
  setAttributeSync(path: string, name: string, value: Uint8Array | string): void;
}

let binding: XattrBinding | null | undefined;

function load(): XattrBinding | null {
  if (binding !== undefined) return binding;
  try {
    binding = createRequire(import.meta.url)('@napi-rs/xattr') as XattrBinding;
  } catch {
    binding = null;
  }
  return binding;
}

/** Attributes that describe the host, not the image: never copied into a layer. */
export function isHostOnlyXattr(name: string): boolean {
  return (
    name === 'security.selinux' ||
    name.startsWith('trusted.overlay.') ||
    name.startsWith('user.overlay.') ||
    name === NODE_PLACEHOLDER_XATTR ||
    name === OWNER_XATTR
  );
}

/**
 * Marks an empty regular file standing in for a device node or fifo that could not be made on disk (a
 * rootless build cannot mknod): value `char:MAJOR:MINOR`, `block:…` or `fifo:0:0`. The file keeps the
 * node's mode and owner, so REMOVE, RUN and the snapshot diffs see it like any other path, and
 * `statToSpec` turns it back into the node (umoci's and apko's approach: the layer says what the disk cannot).
 */
export const NODE_PLACEHOLDER_XATTR = 'user.rootc.node';

/**
 * The owner (`uid:gid`) a file has in the image when the build's user namespace maps only one id (no
 * subordinate ids): the file itself stays owned by the namespace's root. See fsutil/owner.ts.
 */
export const OWNER_XATTR = 'user.rootc.owner';

/** One attribute of `path` (not following a final symlink), or undefined. */
export function readXattr(path: string, name: string): Buffer | undefined {
  const b = load();
  if (!b) return undefined;
  try {
    const v = b.getAttributeSync(path, name);
    return v === null ? undefined : Buffer.from(v);
  } catch {
    return undefined;
  }
}

/** All attributes of `path` (not following a final symlink), or undefined when it has none. */
export function readXattrs(path: string, filter: (name: string) => boolean = (n) => !isHostOnlyXattr(n)) {
  const b = load();
  if (!b) return undefined;
  let names: string[];
  try {
    names = b.listAttributesSync(path);
  } catch {
    return undefined;
  }
  if (names.length === 0) return undefined;
  let out: Record<string, Buffer> | undefined;
  for (const name of names.sort()) {
    if (!filter(name)) continue;
    const v = b.getAttributeSync(path, name);
    if (v === null) continue;
    out ??= {};
    out[name] = Buffer.from(v);
  }
  return out;
}

/** Sets one attribute; returns false when the filesystem or the namespace does not allow it. */
export function writeXattr(path: string, name: string, value: Buffer): boolean {
  const b = load();
  if (!b) return false;
  try {
    b.setAttributeSync(path, name, value);
    return true;
  } catch {
    return false;
  }
}

export function xattrsAvailable(): boolean {
  return load() !== null;
}
