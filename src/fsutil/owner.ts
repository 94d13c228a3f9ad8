import { type BigIntStats, fchownSync, lchownSync, readFileSync, type Stats } from 'node:fs';
import {
  DiagnosticError,
  type DiagnosticNote,
  error,
  type SourceLocation,
} from '../diagnostics/diagnostic.js';
import { OWNER_XATTR, readXattr, writeXattr } from './xattr.js';

/**
 * Ownership in a single-id user namespace (a rootless build for a user without subordinate ids: only the
 * caller is mapped, as image root). A chown to any other id fails there with EINVAL, so — umoci's
 * `--rootless` approach (its `user.rootlesscontainers` xattr) — the file stays owned by the namespace's root
 * and the owner the image wants is recorded in OWNER_XATTR (`uid:gid`); the tree walkers that make layers
 * read it back through `ownerOf`. Every write of an owner into a build tree goes through `setOwner`.
 *
 * Trees written this way live under their own snapshot root (`snapshots/<kind>-single`): seen with the full
 * mapping, their owners would be wrong, and a full-mapping tree's files would read back here as 65534.
 */

/** Set by the re-executing rootc: the notes saying how to get subordinate ids (one per line). */
export const SINGLE_ID_NOTES_ENV = 'ROOTC_SINGLE_ID_NOTES';

let single: boolean | undefined;

/** Whether this process runs in a user namespace that maps exactly one uid (`unshare --map-root-user`). */
export function singleIdMapping(): boolean {
  if (single === undefined) {
    try {
      const lines = readFileSync('/proc/self/uid_map', 'utf8').trim().split('\n');
      single = lines.length === 1 && lines[0]!.trim().split(/\s+/)[2] === '1';
    } catch {
      single = false;
    }
  }
  return single;
}

/** The notes of every single-id diagnostic: how to add subordinate ids (or install uidmap). */
export function singleIdNotes(): DiagnosticNote[] {
  const lines = (process.env[SINGLE_ID_NOTES_ENV] ?? '').split('\n').filter(Boolean);
  if (lines.length === 0)
    lines.push('add subordinate ids: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER');
  return lines.map((message) => ({ message }));
}

/** A diagnostic for what cannot be done correctly with only one id mapped (`message` says what and why). */
export function singleIdError(message: string, location?: SourceLocation): DiagnosticError {
  return new DiagnosticError(
    error('build/rootless-single-id', message, location, { notes: singleIdNotes() }),
  );
}

const NO_RANGES =
  'this rootless build has no subordinate ids, so its user namespace maps only image root (the caller)';

/** RUN in a single-id namespace: refused, since a program's failed chown can go unnoticed. */
export function singleIdRunError(location?: SourceLocation): DiagnosticError {
  return singleIdError(
    `RUN cannot run correctly here: ${NO_RANGES}, and a program that gives files to another id would fail, or silently leave them root's (apt falls back from _apt)`,
    location,
  );
}

/** FROM debootstrap in a single-id namespace: dpkg chowns to ids that are not mapped. */
export function singleIdDebootstrapError(location?: SourceLocation): DiagnosticError {
  return singleIdError(
    `FROM debootstrap cannot run correctly here: ${NO_RANGES}, and debootstrap's dpkg gives files to other ids`,
    location,
  );
}

/**
 * lchown (or fchown through `fd`) of `target`; in a single-id namespace an owner that is not mapped is
 * recorded in OWNER_XATTR instead, and a successful chown (to 0:0) overwrites an earlier record. Other
 * failures throw as lchown does. `image` names the path in diagnostics.
 */
export function setOwner(target: string, uid: number, gid: number, fd?: number, image = target): void {
  try {
    if (fd === undefined) lchownSync(target, uid, gid);
    else fchownSync(fd, uid, gid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL' || !singleIdMapping()) throw e;
    if (!writeXattr(target, OWNER_XATTR, Buffer.from(`${uid}:${gid}`))) {
      throw singleIdError(
        `cannot give ${image} the owner ${uid}:${gid}: ${NO_RANGES}, and the owner cannot be recorded either (user xattrs, where such owners are kept, cannot be set on a symlink or on this filesystem)`,
      );
    }
    return;
  }
  // A tree copied with GNU tar keeps a directory's old attributes: overwrite a record rather than remove it.
  if (singleIdMapping() && readXattr(target, OWNER_XATTR) !== undefined)
    writeXattr(target, OWNER_XATTR, Buffer.from(`${uid}:${gid}`));
}

/** The owner of `host` as the image sees it: its lstat ids, or in a single-id namespace the recorded ones. */
export function ownerOf(host: string, st: Stats | BigIntStats): { uid: number; gid: number } {
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  if (uid !== 0 || gid !== 0 || !singleIdMapping()) return { uid, gid };
  const m = /^(\d+):(\d+)$/.exec(readXattr(host, OWNER_XATTR)?.toString('utf8') ?? '');
  return m ? { uid: Number(m[1]), gid: Number(m[2]) } : { uid, gid };
}
