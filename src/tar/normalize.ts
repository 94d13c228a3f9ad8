import { cleanImagePath } from '../fsutil/securejoin.js';
import { entryContent, OPAQUE_WHITEOUT, type TarEntrySpec, WHITEOUT_PREFIX } from './entry.js';
import { memberToSpec, type TarMember } from './reader.js';

export interface NormalizeOptions {
  /** Keep `.wh.` entries (a layer of a layered image); default false (a rootfs tarball has no lower layer). */
  keepWhiteouts?: boolean;
  /** Called for each entry dropped or rewritten, with the reason. */
  onWarning?: (message: string) => void;
}

const MAX_HOPS = 255;

/**
 * Turns the members of a foreign tar (a rootfs tarball, a stage3) into clean layer entries, so that the layer
 * means exactly what safe extraction makes of it:
 * - names cleaned (`./`, `..`, absolute) to relative paths inside the root; the root entry itself dropped;
 * - a name whose parent goes through a symlink an earlier entry made (`etc -> /etc`, then `etc/passwd`) is
 *   rewritten to the path the symlink resolves to inside the root, as extraction would write it; loops drop it;
 * - hardlinks to paths not seen before (or to directories) dropped; link targets cleaned the same way;
 * - device nodes and fifos kept (they may not be creatable on this machine, but they belong to the layer).
 */
export async function* normalizeMembers(
  members: AsyncIterable<TarMember>,
  options: NormalizeOptions = {},
): AsyncGenerator<TarEntrySpec> {
  const symlinks = new Map<string, string>();
  const kinds = new Map<string, 'dir' | 'other'>();
  const warn = options.onWarning ?? (() => {});
  /**
   * Directories whose every component is a directory of this archive (no symlink on the way): a name below
   * one resolves to itself, so the common entry costs one lookup instead of a walk of its components.
   * Forgotten, with what is below, when an entry replaces one of them.
   */
  const realDirs = new Set<string>(['']);
  const forgetRealDir = (p: string): void => {
    if (!realDirs.delete(p)) return;
    const prefix = `${p}/`;
    for (const d of realDirs) if (d.startsWith(prefix)) realDirs.delete(d);
  };

  /** Resolves symlinks (made earlier in this archive) in the parent part of `clean`; null on a loop. */
  const resolveParent = (clean: string): string | null => {
    const slash = clean.lastIndexOf('/');
    if (realDirs.has(slash < 0 ? '' : clean.slice(0, slash))) return clean;
    const parts = clean.split('/').filter(Boolean);
    const last = parts.pop();
    if (last === undefined) return '';
    const pending = parts;
    const out: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '.' || part === '') continue;
      if (part === '..') {
        out.pop();
        continue;
      }
      const candidate = [...out, part].join('/');
      const target = symlinks.get(candidate);
      if (target === undefined) {
        out.push(part);
        continue;
      }
      if (++hops > MAX_HOPS) return null;
      if (target.startsWith('/')) out.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
    }
    return [...out, last].join('/');
  };

  for await (const m of members) {
    const spec = memberToSpec(m);
    const cleaned = cleanImagePath(spec.path).slice(1);
    if (cleaned === '') {
      await drain(spec);
      continue;
    }
    const base = cleaned.slice(cleaned.lastIndexOf('/') + 1);
    if (!options.keepWhiteouts && base.startsWith(WHITEOUT_PREFIX)) {
      warn(`${spec.path}: whiteout${base === OPAQUE_WHITEOUT ? ' (opaque)' : ''} in a base tarball ignored`);
      await drain(spec);
      continue;
    }
    const resolved = resolveParent(cleaned);
    if (resolved === null) {
      warn(`${spec.path}: too many levels of symbolic links; entry dropped`);
      await drain(spec);
      continue;
    }
    if (resolved !== cleaned) warn(`${spec.path}: goes through a symlink; stored as ${resolved}`);
    spec.path = resolved;

    if (spec.type === 'hardlink') {
      const target = resolveParent(cleanImagePath(spec.linkname ?? '').slice(1));
      const kind = target ? kinds.get(target) : undefined;
      if (!target || kind === undefined || kind === 'dir') {
        warn(
          `${spec.path}: hardlink to ${kind === 'dir' ? 'a directory' : 'a missing entry'} ${spec.linkname}; dropped`,
        );
        continue;
      }
      spec.linkname = target;
    }

    // Whatever this entry replaces is no longer a symlink (or, below a replaced directory, reachable).
    symlinks.delete(resolved);
    if (spec.type === 'symlink') symlinks.set(resolved, spec.linkname ?? '');
    kinds.set(resolved, spec.type === 'directory' ? 'dir' : 'other');
    if (spec.type !== 'directory') forgetRealDir(resolved);
    else {
      const slash = resolved.lastIndexOf('/');
      if (realDirs.has(slash < 0 ? '' : resolved.slice(0, slash))) realDirs.add(resolved);
    }
    yield spec;
  }
}

async function drain(spec: TarEntrySpec): Promise<void> {
  for await (const _ of entryContent(spec)) void _;
}
