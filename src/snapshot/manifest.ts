import { createHash } from 'node:crypto';
import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { ownerOf } from '../fsutil/owner.js';
import { readXattrs } from '../fsutil/xattr.js';

/**
 * umoci-style manifest of a tree: path → the lstat fields that change whenever the entry does. ctime moves
 * on every metadata or content change (and cannot be set from user space), ino and birth time tell a
 * directory removed and recreated from the one that was there; link target and an xattr digest are kept
 * too, so nothing relies on ctime alone.
 */
export interface ManifestEntry {
  /** st_mode: type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
  ino: bigint;
  nlink: bigint;
  rdev: bigint;
  link?: string;
  xattrs?: string;
}

export type Manifest = Map<string, ManifestEntry>;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

export function isDirMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}

function entryOf(host: string, st: BigIntStats): ManifestEntry {
  const { uid, gid } = ownerOf(host, st); // a single-id build's recorded owner (fsutil/owner.ts)
  const e: ManifestEntry = {
    mode: Number(st.mode),
    uid,
    gid,
    size: st.size,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    birthtimeNs: st.birthtimeNs,
    ino: st.ino,
    nlink: st.nlink,
    rdev: st.rdev,
  };
  if (st.isSymbolicLink()) e.link = readlinkSync(host);
  const x = readXattrs(host);
  if (x) {
    const h = createHash('sha256');
    for (const [k, v] of Object.entries(x)) h.update(`${k}\0${v.length}\0`).update(v);
    e.xattrs = h.digest('hex');
  }
  return e;
}

/** Records every entry below `root` (not the root itself), keyed by `/`-separated relative path. */
export function recordManifest(root: string): Manifest {
  const m: Manifest = new Map();
  const visit = (relDir: string, hostDir: string) => {
    for (const d of readdirSync(hostDir, { withFileTypes: true })) {
      const rel = relDir === '' ? d.name : `${relDir}/${d.name}`;
      const host = path.join(hostDir, d.name);
      const st = lstatSync(host, { bigint: true });
      m.set(rel, entryOf(host, st));
      if (st.isDirectory()) visit(rel, host);
    }
  };
  visit('', root);
  return m;
}

/** A directory's own metadata as overlayfs would copy it up (what makes it "changed" for a layer). */
export function dirMetaEqual(a: ManifestEntry, b: ManifestEntry): boolean {
  return (
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.mtimeNs === b.mtimeNs &&
    a.xattrs === b.xattrs
  );
}

/** Same directory (not one removed and recreated at the same path). */
export function sameDirIdentity(a: ManifestEntry, b: ManifestEntry): boolean {
  if (a.ino !== b.ino) return false;
  return a.birthtimeNs === 0n || b.birthtimeNs === 0n || a.birthtimeNs === b.birthtimeNs;
}

export function entryEqual(a: ManifestEntry, b: ManifestEntry): boolean {
  return (
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.ino === b.ino &&
    a.nlink === b.nlink &&
    a.rdev === b.rdev &&
    a.link === b.link &&
    a.xattrs === b.xattrs
  );
}
