import { type BigIntStats, lstatSync, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ownerOf } from '../fsutil/owner.js';
import { isHostOnlyXattr, readXattrs } from '../fsutil/xattr.js';
import { OPAQUE_WHITEOUT, type TarEntrySpec, WHITEOUT_PREFIX } from '../tar/entry.js';
import { compareBytes, statToSpec } from '../tar/tree.js';

/**
 * Reading a snapshot's diff directory, which is in overlayfs "upper dir" format whichever driver made it:
 * a 0/0 character device is a deletion, a directory with `trusted.overlay.opaque=y` (`user.overlay.opaque`
 * under `userxattr`) replaces the directory below it, everything else is new or changed content.
 */
export interface DiffDirOptions {
  /** Diff dirs of the parent chain, nearest first (to tell a copied-up directory from a changed one). */
  lowers: string[];
  /**
   * Drop directories identical to the one below them (mode, owner, mtime to the nanosecond, xattrs) that
   * hold nothing emitted: overlayfs copies a directory up when anything happens inside it, even a
   * mount stub created and removed again. The copy driver writes only directories that matter.
   */
  pruneUnchangedDirs: boolean;
  /** Overlay mounted with `userxattr` (inside a user namespace): opaque marker in `user.overlay.*`. */
  userxattr?: boolean;
}

export function opaqueXattrName(userxattr = false): string {
  return userxattr ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
}

export function isWhiteoutStat(st: Stats | BigIntStats): boolean {
  return st.isCharacterDevice() && Number(st.rdev) === 0;
}

export function isOpaqueDir(hostPath: string, userxattr = false): boolean {
  const name = opaqueXattrName(userxattr);
  const x = readXattrs(hostPath, (n) => n === name);
  // Only "y" is opaque; kernels ≥ 6.7 write "x" on a directory that merely holds whiteouts.
  return x?.[name]?.toString() === 'y';
}

function emptyFile(rel: string): TarEntrySpec {
  return {
    path: rel,
    type: 'file',
    mode: 0,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: 0,
    open: () => Readable.from([]),
  };
}

/**
 * The layer of one diff directory as TarEntrySpec: whiteouts as `.wh.<name>`, opaque directories followed
 * by `<dir>/.wh..wh..opq`, hardlinks within the layer as `hardlink` entries to the first path, every entry
 * sorted by path in byte order. Metadata is read from the diff dir itself (the merged view's, since every
 * entry there is a full copy: the driver mounts with metacopy=off).
 */
export async function* diffDirEntries(upper: string, options: DiffDirOptions): AsyncGenerator<TarEntrySpec> {
  const out: { spec: TarEntrySpec; ino: number; nlink: number }[] = [];
  const xattrFilter = (n: string) => !isHostOnlyXattr(n);

  const visit = async (relDir: string, hostDir: string): Promise<boolean> => {
    let any = false;
    const names = await readdir(hostDir);
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const host = path.join(hostDir, name);
      const st = lstatSync(host);
      if (isWhiteoutStat(st)) {
        out.push({ spec: emptyFile(parentJoin(relDir, WHITEOUT_PREFIX + name)), ino: 0, nlink: 1 });
        any = true;
        continue;
      }
      if (st.isDirectory()) {
        const opaque = isOpaqueDir(host, options.userxattr);
        const childAny = await visit(rel, host);
        let keep = opaque || childAny || !options.pruneUnchangedDirs;
        if (!keep) keep = await dirDiffersFromLower(rel, host, options);
        if (keep) {
          const spec = statToSpec(host, rel, st, { xattrFilter });
          if (spec) out.push({ spec, ino: 0, nlink: 1 });
          if (opaque) out.push({ spec: emptyFile(`${rel}/${OPAQUE_WHITEOUT}`), ino: 0, nlink: 1 });
          any = true;
        }
        continue;
      }
      const spec = statToSpec(host, rel, st, { xattrFilter });
      if (!spec) continue; // sockets
      out.push({ spec, ino: st.ino, nlink: st.nlink });
      any = true;
    }
    return any;
  };
  await visit('', upper);

  out.sort((a, b) => compareBytes(a.spec.path, b.spec.path));
  const firstPathOfInode = new Map<number, string>();
  for (const e of out) {
    if (e.spec.type !== 'file' || e.nlink < 2) continue;
    const first = firstPathOfInode.get(e.ino);
    if (first === undefined) firstPathOfInode.set(e.ino, e.spec.path);
    else {
      const { path: p, mode, uid, gid, mtime, xattrs } = e.spec;
      e.spec = {
        path: p,
        type: 'hardlink',
        linkname: first,
        mode,
        uid,
        gid,
        mtime,
        ...(xattrs ? { xattrs } : {}),
      };
    }
  }
  for (const e of out) yield e.spec;
}

function parentJoin(relDir: string, name: string): string {
  return relDir === '' ? name : `${relDir}/${name}`;
}

async function lstatBig(p: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(p, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * What `rel` is in the lower chain (nearest first), honouring whiteouts and opaque directories there, as
 * the overlay mount would show it; undefined when it does not exist below.
 */
export async function lowerStat(
  rel: string,
  options: DiffDirOptions,
): Promise<{ host: string; st: BigIntStats } | undefined> {
  const parts = rel.split('/');
  for (const lower of options.lowers) {
    let stopHere = false;
    let hidden = false;
    let missing = false;
    for (let i = 1; i < parts.length; i++) {
      const anc = path.join(lower, ...parts.slice(0, i));
      const st = await lstatBig(anc);
      if (!st) {
        missing = true;
        break;
      }
      if (!st.isDirectory()) {
        hidden = true; // a whiteout or a file here hides everything below
        break;
      }
      if (isOpaqueDir(anc, options.userxattr)) stopHere = true;
    }
    if (hidden) return undefined;
    if (!missing) {
      const host = path.join(lower, rel);
      const st = await lstatBig(host);
      if (st) return isWhiteoutStat(st) ? undefined : { host, st };
    }
    if (stopHere) return undefined;
  }
  return undefined;
}

async function dirDiffersFromLower(rel: string, host: string, options: DiffDirOptions): Promise<boolean> {
  const lower = await lowerStat(rel, options);
  if (!lower?.st.isDirectory()) return true;
  const st = await lstat(host, { bigint: true });
  if (st.mode !== lower.st.mode) return true;
  const [a, b] = [ownerOf(host, st), ownerOf(lower.host, lower.st)];
  if (a.uid !== b.uid || a.gid !== b.gid) return true;
  if (st.mtimeNs !== lower.st.mtimeNs) return true;
  return !sameXattrs(readXattrs(host), readXattrs(lower.host));
}

export function sameXattrs(
  a: Record<string, Buffer> | undefined,
  b: Record<string, Buffer> | undefined,
): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    const vb = b?.[k];
    if (!vb || !a![k]!.equals(vb)) return false;
  }
  return true;
}
