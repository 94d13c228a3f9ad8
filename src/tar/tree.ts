import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { byteOrder } from '../fsutil/order.js';
import { ownerOf } from '../fsutil/owner.js';
import { openFileSync, readFileChunks } from '../fsutil/readstream.js';
import { NODE_PLACEHOLDER_XATTR, readXattr, readXattrs } from '../fsutil/xattr.js';
import { attachChunks, type EntryType, type TarEntrySpec } from './entry.js';

export interface WalkOptions {
  /** Read xattrs (default true). */
  xattrs?: boolean;
  /** Which xattrs to keep; default drops host-only ones (security.selinux, overlay internals). */
  xattrFilter?: (name: string) => boolean;
  /** Skip an entry (and, for a directory, everything below it). `rel` is the image path without leading `/`. */
  exclude?: (rel: string, st: Stats) => boolean;
  /** Path prefix put before every entry (e.g. `rootfs` for an ACI). */
  prefix?: string;
}

/** Splits Linux's `st_rdev` into major/minor (glibc's gnu_dev_major/minor for 32-bit values). */
export function splitDev(rdev: number): { major: number; minor: number } {
  const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  return { major, minor };
}

/** The TarEntrySpec for one lstat'ed path (no hardlink detection here). Sockets return null. */
export function statToSpec(
  hostPath: string,
  rel: string,
  st: Stats,
  options: Pick<WalkOptions, 'xattrs' | 'xattrFilter'> = {},
): TarEntrySpec | null {
  let type: EntryType;
  if (st.isFile()) type = 'file';
  else if (st.isDirectory()) type = 'directory';
  else if (st.isSymbolicLink()) type = 'symlink';
  else if (st.isCharacterDevice()) type = 'char';
  else if (st.isBlockDevice()) type = 'block';
  else if (st.isFIFO()) type = 'fifo';
  else return null; // sockets cannot be archived (GNU tar skips them too)
  const { uid, gid } = ownerOf(hostPath, st);
  const spec: TarEntrySpec = {
    path: rel,
    type,
    mode: st.mode & 0o7777,
    uid,
    gid,
    mtime: Math.floor(st.mtimeMs / 1000),
  };
  const node = type === 'file' && st.size === 0 ? nodePlaceholder(hostPath) : undefined;
  if (node) {
    spec.type = node.type;
    if (node.type !== 'fifo') {
      spec.devmajor = node.major;
      spec.devminor = node.minor;
    }
  } else if (type === 'file') {
    spec.size = st.size;
    const size = st.size;
    spec.open = () => openFileSync(hostPath, size);
    attachChunks(spec, () => readFileChunks(hostPath, size));
  } else if (type === 'symlink') {
    spec.linkname = readlinkSync(hostPath);
  } else if (type === 'char' || type === 'block') {
    const { major, minor } = splitDev(st.rdev);
    spec.devmajor = major;
    spec.devminor = minor;
  }
  if (options.xattrs !== false) {
    const x = readXattrs(hostPath, options.xattrFilter);
    if (x) spec.xattrs = x;
  }
  return spec;
}

/** The node an empty file stands in for (see NODE_PLACEHOLDER_XATTR), or undefined for a plain file. */
export function nodePlaceholder(
  hostPath: string,
): { type: 'char' | 'block' | 'fifo'; major: number; minor: number } | undefined {
  const v = readXattr(hostPath, NODE_PLACEHOLDER_XATTR)?.toString('utf8');
  const m = v ? /^(char|block|fifo):(\d+):(\d+)$/.exec(v) : null;
  if (!m) return undefined;
  return { type: m[1] as 'char' | 'block' | 'fifo', major: Number(m[2]), minor: Number(m[3]) };
}

/** Byte order of UTF-8 strings (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export const compareBytes = byteOrder;

/**
 * Walks `root` and yields one entry per file, directory, link, device and fifo below it (not the root itself),
 * in byte order of their full paths, so the same tree always gives the same sequence. A file seen again
 * through another hard link becomes a `hardlink` entry to the first path. Lazy: one directory listing
 * in memory per level being walked.
 */
export async function* walkTree(root: string, options: WalkOptions = {}): AsyncGenerator<TarEntrySpec> {
  const seen = new Map<string, string>();
  const prefix = options.prefix ? options.prefix.replace(/^\/+|\/+$/g, '') : '';
  // Items are either an entry to emit or a directory whose children to emit; sorting by
  // `name` resp. `name + '/'` gives full-path byte order (e.g. `a`, `a.b`, `a/x`).
  type Item = { key: string; rel: string; host: string; st: Stats; descend: boolean };
  function list(dirHost: string, dirRel: string): Item[] {
    const items: Item[] = [];
    for (const name of readdirSync(dirHost)) {
      const host = path.join(dirHost, name);
      const rel = dirRel ? `${dirRel}/${name}` : name;
      const st = lstatSync(host);
      if (options.exclude?.(rel, st)) continue;
      items.push({ key: name, rel, host, st, descend: false });
      if (st.isDirectory()) items.push({ key: `${name}/`, rel, host, st, descend: true });
    }
    return items.sort((a, b) => compareBytes(a.key, b.key));
  }
  const stack: { items: Item[]; next: number }[] = [{ items: list(root, ''), next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const item = top.items[top.next++];
    if (!item) {
      stack.pop();
      continue;
    }
    if (item.descend) {
      stack.push({ items: list(item.host, item.rel), next: 0 });
      continue;
    }
    const rel = prefix ? `${prefix}/${item.rel}` : item.rel;
    const spec = statToSpec(item.host, rel, item.st, options);
    if (!spec) continue;
    if (spec.type !== 'directory' && item.st.nlink > 1) {
      const key = `${item.st.dev}:${item.st.ino}`;
      const first = seen.get(key);
      if (first !== undefined) {
        yield {
          path: rel,
          type: 'hardlink',
          linkname: first,
          mode: spec.mode,
          uid: spec.uid,
          gid: spec.gid,
          mtime: spec.mtime,
        };
        continue;
      }
      seen.set(key, rel);
    }
    yield spec;
  }
}
