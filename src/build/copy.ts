/**
 * COPY/ADD into a rootfs with Docker's rules (BuildKit's copy op: CopyDirContentsOnly, CreateDestPath,
 * AllowWildcard): a directory source copies its contents; several sources, a wildcard or a trailing `/`
 * make the destination a directory; otherwise a file lands at the destination path, or inside it when it
 * is an existing directory. Every write is resolved inside the rootfs (resolveInRoot), so a symlink in
 * the image can never send a write to the host. Hardlinks within one copy stay hardlinks.
 */
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  futimesSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmSync,
  type Stats,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { byteOrder } from '../context/context.js';
import { ownerOf, setOwner } from '../fsutil/owner.js';
import { cleanImagePath, resolveInRoot } from '../fsutil/securejoin.js';
import { nodePlaceholder } from '../tar/tree.js';

export interface CopySource {
  /** Host path of the source (already resolved inside its own root). */
  abs: string;
  /** Name used when the source lands inside a directory (its base name). */
  name: string;
}

export interface CopyOptions {
  /** The rootfs being built (host path). */
  rootfs: string;
  sources: CopySource[];
  /** Destination inside the image, absolute (already joined with WORKDIR). */
  dest: string;
  /** The destination was written with a trailing slash, or there are several sources / a wildcard. */
  destIsDir: boolean;
  /** Owner of everything copied; undefined keeps the source's ids (COPY --from=<stage>). */
  owner?: { uid: number; gid: number };
  /** Mode bits for everything copied (--chmod); undefined keeps the source's. */
  mode?: number;
  /** Filter on paths below a directory source (relative to it); false skips the entry (and its subtree). */
  include?: (relBelowSource: string, stat: Stats) => boolean;
}

export class CopyError extends Error {}

export function copyIntoRootfs(opts: CopyOptions): { files: number; bytes: number } {
  const stats = { files: 0, bytes: 0 };
  const links = new Map<string, string>();
  const destClean = cleanImagePath(opts.dest);
  for (const source of opts.sources) {
    const st = lstatSync(source.abs);
    if (st.isDirectory()) {
      const destDir = ensureDir(opts.rootfs, destClean, opts);
      copyDirContents(source.abs, destDir, '', opts, stats, links);
    } else {
      let target: string;
      if (opts.destIsDir) {
        const dir = ensureDir(opts.rootfs, destClean, opts);
        target = path.join(dir, source.name);
      } else {
        const resolved = resolveInRoot(opts.rootfs, destClean, { followFinal: true });
        const existing = tryLstat(resolved);
        if (existing?.isDirectory()) target = path.join(resolved, source.name);
        else {
          ensureDir(opts.rootfs, path.posix.dirname(destClean), opts);
          target = resolveInRoot(opts.rootfs, destClean);
        }
      }
      copyEntry(source.abs, st, target, opts, stats, links);
    }
  }
  return stats;
}

/** mkdir -p inside the root: missing components are created 0755 (owned by the copy's owner, as BuildKit). */
function ensureDir(rootfs: string, imageDir: string, opts: CopyOptions): string {
  const parts = cleanImagePath(imageDir).split('/').filter(Boolean);
  let current = '/';
  let host = path.resolve(rootfs);
  for (const part of parts) {
    current = path.posix.join(current, part);
    host = resolveInRoot(rootfs, current, { followFinal: true });
    const st = tryLstat(host);
    if (st?.isDirectory()) continue;
    if (st) rmSync(host, { recursive: true, force: true });
    mkdirSync(host, { mode: 0o755, recursive: true });
    chmodSync(host, 0o755);
    const owner = opts.owner ?? { uid: 0, gid: 0 };
    setOwner(host, owner.uid, owner.gid);
  }
  return host;
}

function copyDirContents(
  srcDir: string,
  destDir: string,
  rel: string,
  opts: CopyOptions,
  stats: { files: number; bytes: number },
  links: Map<string, string>,
): void {
  for (const name of readdirSync(srcDir).sort(byteOrder)) {
    const childRel = rel ? `${rel}/${name}` : name;
    const src = path.join(srcDir, name);
    const st = lstatSync(src);
    if (opts.include && !opts.include(childRel, st)) continue;
    // The destination may hold a symlink to a directory: follow it inside the root, as Docker does.
    const target = st.isDirectory() ? resolveWithin(opts.rootfs, destDir, name) : path.join(destDir, name);
    copyEntry(src, st, target, opts, stats, links);
    if (st.isDirectory()) copyDirContents(src, target, childRel, opts, stats, links);
  }
}

function resolveWithin(rootfs: string, hostDir: string, name: string): string {
  const rel = path.relative(path.resolve(rootfs), path.join(hostDir, name));
  return resolveInRoot(rootfs, `/${rel}`, { followFinal: true });
}

function copyEntry(
  src: string,
  st: Stats,
  target: string,
  opts: CopyOptions,
  stats: { files: number; bytes: number },
  links: Map<string, string>,
): void {
  const existing = tryLstat(target);
  // The source's owner (COPY --from a stage): in a single-id build, the recorded one (fsutil/owner.ts).
  const { uid, gid } = opts.owner ?? ownerOf(src, st);
  const mode = opts.mode ?? st.mode & 0o7777;
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) rmSync(target, { force: true });
    if (!existing?.isDirectory()) mkdirSync(target);
    setOwner(target, uid, gid);
    chmodSync(target, mode);
    utimesSync(target, st.atime, st.mtime);
    return;
  }
  if (existing) rmSync(target, { recursive: true, force: true });
  if (st.nlink > 1 && !st.isSymbolicLink()) {
    const inode = `${st.dev}:${st.ino}`;
    const first = links.get(inode);
    if (first) {
      linkSync(first, target);
      return;
    }
    links.set(inode, target);
  }
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), target);
    // A symlink cannot carry the single-id owner record: its diagnostic names the image path.
    setOwner(target, uid, gid, undefined, `/${path.relative(path.resolve(opts.rootfs), target)}`);
    lutimesSync(target, st.atime, st.mtime);
    stats.files++;
    return;
  }
  // A rootless build's stand-in for a device node (see NODE_PLACEHOLDER_XATTR) is refused like the node itself.
  if (!st.isFile() || (st.size === 0 && nodePlaceholder(src)))
    throw new CopyError(`cannot copy ${src}: not a regular file, directory or symlink`);
  copyFile(src, st, target, uid, gid, mode);
  stats.files++;
  stats.bytes += st.size;
}

/** One reused buffer for small files' content (they are read whole, then written). */
const SMALL = 1 << 20;
const smallBuffer = Buffer.allocUnsafe(SMALL);

/**
 * A regular file's content and metadata at `target` (which does not exist): owner, mode and times set through
 * the open descriptor (no path lookup each), O_EXCL|O_NOFOLLOW so nothing planted can redirect the write. A
 * small file is read into one reused buffer; a big one goes through copyFileSync (the kernel's copy).
 */
function copyFile(src: string, st: Stats, target: string, uid: number, gid: number, mode: number): void {
  if (st.size > SMALL) {
    copyFileSync(src, target, constants.COPYFILE_EXCL);
    setOwner(target, uid, gid);
    chmodSync(target, mode);
    utimesSync(target, st.atime, st.mtime);
    return;
  }
  const out = openSync(
    target,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    if (st.size > 0) {
      const input = openSync(src, constants.O_RDONLY | constants.O_NOFOLLOW);
      let n = 0;
      try {
        for (let r = 1; r > 0 && n < SMALL; n += r) r = readSync(input, smallBuffer, n, SMALL - n, null);
      } finally {
        closeSync(input);
      }
      for (let off = 0; off < n; ) off += writeSync(out, smallBuffer, off, n - off);
    }
    setOwner(target, uid, gid, out);
    fchmodSync(out, mode); // after the chown, which clears setuid/setgid
    futimesSync(out, st.atime, st.mtime);
  } finally {
    closeSync(out);
  }
}

function tryLstat(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Copies the shared-library closure found by elf/deps.ts from `sourceRoot` into the rootfs at the same
 * image paths: symlinks (of files and of directories such as /lib64 → usr/lib64) recreated when the path
 * is free in the image, files copied with their modes, owned by root or the COPY's owner.
 */
export function copyDepsIntoRootfs(
  rootfs: string,
  sourceRoot: string,
  entries: readonly ({ path: string; kind: 'file' } | { path: string; kind: 'symlink'; target: string })[],
  owner: { uid: number; gid: number } = { uid: 0, gid: 0 },
): { files: number; bytes: number } {
  const stats = { files: 0, bytes: 0 };
  const opts: CopyOptions = { rootfs, sources: [], dest: '/', destIsDir: true, owner };
  for (const entry of entries) {
    if (entry.kind !== 'symlink') continue;
    const target = resolveInRoot(rootfs, entry.path);
    if (tryLstat(target)) continue;
    ensureDir(rootfs, path.posix.dirname(entry.path), opts);
    symlinkSync(entry.target, resolveInRoot(rootfs, entry.path));
    setOwner(resolveInRoot(rootfs, entry.path), owner.uid, owner.gid);
  }
  for (const entry of entries) {
    if (entry.kind !== 'file') continue;
    const src = resolveInRoot(sourceRoot, entry.path);
    const st = lstatSync(src);
    const dir = ensureDir(rootfs, path.posix.dirname(entry.path), opts);
    const target = path.join(dir, path.posix.basename(entry.path));
    if (tryLstat(target)?.isDirectory()) continue;
    copyEntry(src, st, target, { ...opts, mode: undefined }, stats, new Map());
  }
  return stats;
}
