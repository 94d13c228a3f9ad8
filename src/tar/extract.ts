import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  type Dirent,
  fchmodSync,
  futimesSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  type Stats,
  symlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { setOwner } from '../fsutil/owner.js';
import { cleanImagePath, resolveInRoot } from '../fsutil/securejoin.js';
import { NODE_PLACEHOLDER_XATTR, writeXattr } from '../fsutil/xattr.js';
import { entryContent, OPAQUE_WHITEOUT, type TarEntrySpec, WHITEOUT_PREFIX } from './entry.js';
import { memberToSpec, readTar } from './reader.js';

/**
 * How whiteout entries are treated: `apply` (a layer on top of a tree: `.wh.x` deletes x, `.wh..wh..opq`
 * empties the directory of what this layer did not bring), `overlay` (turned into overlayfs whiteouts: a 0/0
 * char device and `trusted.overlay.opaque=y`), `keep` (written as ordinary files).
 */
export type WhiteoutMode = 'apply' | 'overlay' | 'keep';

export interface ExtractOptions {
  whiteouts?: WhiteoutMode;
  /** lchown entries to their uid/gid. Default: when running as (namespace) root. */
  sameOwner?: boolean;
  /** Try mknod for devices (and mkfifo for fifos). Default: when running as (namespace) root. */
  mknod?: boolean;
  /**
   * A node that cannot be made becomes an empty file with its mode and owner, marked with
   * NODE_PLACEHOLDER_XATTR (rootless builds), so later steps and diffs still see it; it is recorded in
   * `skippedNodes` either way. Default false: the node is only recorded.
   */
  nodePlaceholders?: boolean;
  /** Apply xattrs (default true). Failures are recorded, not fatal. */
  xattrs?: boolean;
  /**
   * `overlay` mode: the xattr marking an opaque directory. Default `trusted.overlay.opaque`; overlayfs mounted
   * with `userxattr` (inside a user namespace) reads `user.overlay.opaque`.
   */
  overlayOpaqueXattr?: string;
}

/** A device node or fifo that could not be created on disk; it is still part of the layer. */
export interface SkippedNode {
  path: string;
  type: 'char' | 'block' | 'fifo';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface ExtractReport {
  entries: number;
  /** Bytes of file content written. */
  bytes: number;
  /** Device nodes and fifos not created (no privilege): recorded, never fatal. */
  skippedNodes: SkippedNode[];
  /** Xattrs the filesystem or our privileges refused, as `path: name`. */
  skippedXattrs: string[];
  /** Entries dropped as meaningless or hostile (e.g. a hardlink to a missing file), with the reason. */
  warnings: string[];
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Extracts a tar byte stream (already decompressed) into `root`. Every write stays inside `root`. */
export async function extractTar(
  input: AsyncIterable<Buffer | Uint8Array> | Readable,
  root: string,
  options: ExtractOptions = {},
): Promise<ExtractReport> {
  async function* specs(): AsyncGenerator<TarEntrySpec> {
    for await (const m of readTar(input as AsyncIterable<Buffer>)) yield memberToSpec(m);
  }
  return applyEntries(specs(), root, options);
}

interface DirMeta {
  mode: number;
  mtime: number;
}

/**
 * Writes entries into the tree at `root`, like containerd's `applyNaive`: each name cleaned (`..` and `/`
 * clamped at the root), its parent resolved with `resolveInRoot` so symlinks already in the tree (absolute or
 * relative) resolve inside it, whatever is in the way removed (a directory over a directory merges), hardlink
 * targets resolved inside the root, lchown before chmod (chown clears setuid), directory modes and mtimes set
 * last so that read-only directories can still be filled.
 */
export async function applyEntries(
  entries: Iterable<TarEntrySpec> | AsyncIterable<TarEntrySpec>,
  root: string,
  options: ExtractOptions = {},
): Promise<ExtractReport> {
  const absRoot = path.resolve(root);
  mkdirSync(absRoot, { recursive: true });
  const whiteouts = options.whiteouts ?? 'apply';
  const sameOwner = options.sameOwner ?? isRoot();
  const mknod = options.mknod ?? isRoot();
  const xattrs = options.xattrs ?? true;
  const report: ExtractReport = { entries: 0, bytes: 0, skippedNodes: [], skippedXattrs: [], warnings: [] };
  const unpacked = new Set<string>();
  const dirs = new Map<string, DirMeta>();
  const parentCache = new Map<string, string>();

  const resolveParent = (dir: string): string => {
    let host = parentCache.get(dir);
    if (host === undefined) {
      host = resolveInRoot(absRoot, dir, { followFinal: true });
      parentCache.set(dir, host);
    }
    return host;
  };
  // Directories known to exist as real directories (cleared with parentCache whenever something is removed or
  // a symlink made), so the common case costs no mkdir call per entry.
  const knownDirs = new Set<string>([absRoot]);
  const ensureDir = (host: string, clean: string): void => {
    if (knownDirs.has(host)) return;
    try {
      mkdirSync(host, { recursive: true, mode: 0o755 });
      knownDirs.add(host);
    } catch (e) {
      throw new DiagnosticError(
        error(
          'tar/extract-parent',
          `cannot create the parent directory of ${clean}: ${(e as Error).message}`,
        ),
      );
    }
  };

  // Only resolutions that went through `host` can change when something appears or disappears there.
  const invalidate = (host: string): void => {
    const prefix = `${host}${path.sep}`;
    for (const [k, v] of parentCache) if (v === host || v.startsWith(prefix)) parentCache.delete(k);
    for (const d of knownDirs) if (d === host || d.startsWith(prefix)) knownDirs.delete(d);
  };

  let current = '';
  try {
    for await (const spec of entries) {
      report.entries++;
      const clean = cleanImagePath(spec.path);
      current = clean;
      if (clean === '/' || clean.includes('\0')) {
        if (clean !== '/') report.warnings.push(`${JSON.stringify(spec.path)}: NUL in a name; entry dropped`);
        await drain(spec);
        continue;
      }
      const base = path.posix.basename(clean);
      const dir = path.posix.dirname(clean);
      let parentHost: string;
      try {
        parentHost = resolveParent(dir);
      } catch (e) {
        report.warnings.push(`${clean}: ${(e as Error).message}; entry dropped`);
        await drain(spec);
        continue;
      }

      if (whiteouts !== 'keep' && base.startsWith(WHITEOUT_PREFIX)) {
        ensureDir(parentHost, clean);
        if (base === OPAQUE_WHITEOUT) {
          if (whiteouts === 'apply') removeNotUnpacked(parentHost, unpacked);
          else {
            const name = options.overlayOpaqueXattr ?? 'trusted.overlay.opaque';
            if (!writeXattr(parentHost, name, Buffer.from('y'))) report.skippedXattrs.push(`${dir}: ${name}`);
          }
        } else {
          const victim = base.slice(WHITEOUT_PREFIX.length);
          if (victim === '' || victim === '.' || victim === '..') {
            report.warnings.push(`${clean}: whiteout of "${victim}" ignored`);
          } else if (whiteouts === 'apply') {
            rmSync(path.join(parentHost, victim), { recursive: true, force: true });
          } else {
            const target = path.join(parentHost, victim);
            rmSync(target, { recursive: true, force: true });
            if (!makeNode(target, 'char', 0, 0, 0)) {
              const p = path.posix.join(dir, victim);
              report.skippedNodes.push({
                path: p,
                type: 'char',
                major: 0,
                minor: 0,
                mode: 0,
                uid: 0,
                gid: 0,
              });
            }
          }
        }
        parentCache.clear();
        knownDirs.clear();
        await drain(spec);
        continue;
      }

      ensureDir(parentHost, clean);
      const target = path.join(parentHost, base);
      const existing: Stats | undefined = lstatSync(target, { throwIfNoEntry: false });
      if (existing && !(existing.isDirectory() && spec.type === 'directory')) {
        rmSync(target, { recursive: true, force: true });
        // Resolutions that followed a removed symlink do not start with its path: forget them all.
        if (existing.isSymbolicLink()) {
          parentCache.clear();
          knownDirs.clear();
        } else invalidate(target);
      }

      switch (spec.type) {
        case 'directory':
          if (!existing?.isDirectory()) mkdirSync(target, { mode: 0o700 });
          break;
        case 'file':
          // Owner, mode and mtime are set through the open file; only xattrs (after the chown, which clears
          // security.capability) go by path.
          report.bytes += await writeFile(
            target,
            spec,
            sameOwner
              ? (fd) => chownOrFail(() => setOwner(target, spec.uid, spec.gid, fd, clean), spec, clean)
              : undefined,
          );
          unpacked.add(target);
          if (xattrs && spec.xattrs) applyXattrs(target, clean, spec.xattrs, report);
          continue;
        case 'symlink':
          // No cache to forget: a cached resolution through `target` would have created it as a directory,
          // and replacing an existing path already invalidated above.
          symlinkSync(spec.linkname ?? '', target);
          break;
        case 'hardlink': {
          const linkClean = cleanImagePath(spec.linkname ?? '');
          const source = resolveInRoot(absRoot, linkClean, { followFinal: false });
          const st: Stats | undefined = lstatSync(source, { throwIfNoEntry: false });
          if (!st || st.isDirectory()) {
            report.warnings.push(
              `${clean}: hardlink to ${st ? 'a directory' : 'a missing file'} ${linkClean} dropped`,
            );
            continue;
          }
          linkSync(source, target);
          unpacked.add(target);
          continue; // the link shares the inode: its metadata is the target's
        }
        case 'char':
        case 'block':
        case 'fifo': {
          const major = spec.devmajor ?? 0;
          const minor = spec.devminor ?? 0;
          if (!mknod || !makeNode(target, spec.type, major, minor, spec.mode)) {
            report.skippedNodes.push(skippedNode(clean, spec));
            if (options.nodePlaceholders) {
              const fd = openSync(target, 'wx', 0o600);
              try {
                if (sameOwner)
                  chownOrFail(() => setOwner(target, spec.uid, spec.gid, fd, clean), spec, clean);
                fchmodSync(fd, spec.mode & 0o7777);
                futimesSync(fd, spec.mtime, spec.mtime);
              } finally {
                closeSync(fd);
              }
              const marker = `${spec.type}:${major}:${minor}`;
              if (writeXattr(target, NODE_PLACEHOLDER_XATTR, Buffer.from(marker))) unpacked.add(target);
              else rmSync(target, { force: true }); // unmarked, it would be a plain file: the node stays in the layer only
            }
            continue;
          }
          break;
        }
      }
      unpacked.add(target);

      if (sameOwner) chownOrFail(() => setOwner(target, spec.uid, spec.gid, undefined, clean), spec, clean);
      if (xattrs && spec.xattrs) applyXattrs(target, clean, spec.xattrs, report);
      if (spec.type === 'directory') {
        dirs.set(target, { mode: spec.mode, mtime: spec.mtime });
      } else if (spec.type !== 'symlink') {
        chmodSync(target, spec.mode & 0o7777);
        lutimesSync(target, spec.mtime, spec.mtime);
      } else {
        lutimesSync(target, spec.mtime, spec.mtime);
      }
    }
  } catch (e) {
    if (e instanceof DiagnosticError) throw e;
    const where = current ? ` at ${current}` : '';
    throw new DiagnosticError(
      error('tar/extract-failed', `extraction failed${where}: ${(e as Error).message}`),
    );
  }
  // Deepest first, so setting a parent's mtime is not undone by touching a child.
  for (const [host, meta] of [...dirs].sort((a, b) => b[0].length - a[0].length)) {
    try {
      chmodSync(host, meta.mode & 0o7777);
      lutimesSync(host, meta.mtime, meta.mtime);
    } catch {
      // removed again by a later whiteout
    }
  }
  return report;
}

async function drain(spec: TarEntrySpec): Promise<void> {
  if (spec.type === 'file' && (spec.size ?? 0) > 0) {
    for await (const _ of entryContent(spec)) {
      // skip content
    }
  }
}

async function writeFile(target: string, spec: TarEntrySpec, chown?: (fd: number) => void): Promise<number> {
  // O_EXCL: whatever was at `target` is gone, so nothing (not a planted symlink) can redirect this write.
  const fd = openSync(target, 'wx', 0o600);
  let n = 0;
  try {
    if ((spec.size ?? 0) > 0) {
      for await (const chunk of entryContent(spec)) {
        const buf = chunk as Buffer;
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
        n += buf.length;
      }
    }
    if (spec.size !== undefined && n !== spec.size) {
      throw new DiagnosticError(
        error('tar/extract-size', `${spec.path}: expected ${spec.size} bytes, got ${n}`),
      );
    }
    chown?.(fd);
    fchmodSync(fd, spec.mode & 0o7777); // after chown, which clears setuid/setgid
    futimesSync(fd, spec.mtime, spec.mtime);
  } finally {
    closeSync(fd);
  }
  return n;
}

function chownOrFail(chown: () => void, spec: TarEntrySpec, clean: string): void {
  try {
    chown();
  } catch (e) {
    if (e instanceof DiagnosticError) throw e;
    throw new DiagnosticError(
      error(
        'tar/extract-owner',
        `cannot set owner ${spec.uid}:${spec.gid} of ${clean}: ${(e as Error).message}` +
          ((e as NodeJS.ErrnoException).code === 'EINVAL'
            ? ' (the id is not mapped in this user namespace: add subordinate ids in /etc/subuid and /etc/subgid)'
            : ''),
      ),
    );
  }
}

function applyXattrs(
  target: string,
  clean: string,
  xattrs: Record<string, Buffer>,
  report: ExtractReport,
): void {
  for (const [name, value] of Object.entries(xattrs)) {
    if (!writeXattr(target, name, value)) report.skippedXattrs.push(`${clean}: ${name}`);
  }
}

/** The record of a node not made on disk (`clean`: its cleaned image path). */
export function skippedNode(clean: string, spec: TarEntrySpec): SkippedNode {
  return {
    path: clean,
    type: spec.type as SkippedNode['type'],
    major: spec.devmajor ?? 0,
    minor: spec.devminor ?? 0,
    mode: spec.mode,
    uid: spec.uid,
    gid: spec.gid,
  };
}

/** mknod/mkfifo through the coreutils binaries (Node has neither call). */
function makeNode(
  target: string,
  type: 'char' | 'block' | 'fifo',
  major: number,
  minor: number,
  mode: number,
): boolean {
  const m = (mode & 0o7777).toString(8);
  const args =
    type === 'fifo'
      ? ['-m', m, target, 'p']
      : ['-m', m, target, type === 'char' ? 'c' : 'b', String(major), String(minor)];
  const r = spawnSync('mknod', args, { stdio: 'ignore' });
  return r.status === 0;
}

/** Opaque whiteout: remove everything below `dir` that this layer has not unpacked itself. */
function removeNotUnpacked(dir: string, unpacked: Set<string>): void {
  let children: Dirent[];
  try {
    children = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const child of children) {
    const p = path.join(dir, child.name);
    if (!unpacked.has(p)) rmSync(p, { recursive: true, force: true });
    else if (child.isDirectory()) removeNotUnpacked(p, unpacked);
  }
}
