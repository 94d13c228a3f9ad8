import { execFile } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeXattr } from '../fsutil/xattr.js';
import type { TarEntrySpec } from '../tar/entry.js';
import { compareBytes } from '../tar/tree.js';
import { CommittedSnapshots } from './committed.js';
import { diffDirEntries, isOpaqueDir, isWhiteoutStat, opaqueXattrName } from './diffdir.js';
import {
  dirMetaEqual,
  entryEqual,
  isDirMode,
  type Manifest,
  recordManifest,
  sameDirIdentity,
} from './manifest.js';
import { tarCopy } from './tarcopy.js';
import type { ActiveSnapshot, SnapshotDriver } from './types.js';

const execFileP = promisify(execFile);

/** One change found by comparing two manifests, in the terms of an overlay upper dir. */
export interface TreeChange {
  rel: string;
  kind: 'entry' | 'dir' | 'opaque-dir' | 'whiteout';
}

/**
 * Compares a tree with the manifest recorded before the step, deciding as overlayfs would so that both
 * drivers give the same layer: new or changed entries; a directory whose own metadata changed; a
 * directory that replaced another entry or directory at its path (different inode or birth time) is
 * opaque and everything below it is new; a deletion is one whiteout at the topmost deleted path.
 * (umoci's mtree diff writes per-file whiteouts for a replaced directory; an opaque one is what the
 * overlay driver produces, and is smaller.) Ancestors of every change are added as plain directories.
 */
export function compareManifests(before: Manifest, after: Manifest): TreeChange[] {
  const changes = new Map<string, TreeChange['kind']>();
  const freshDirs = new Set<string>(); // new or replaced directories: no whiteouts below, everything new
  const underFresh = (rel: string) => {
    const parent = path.posix.dirname(rel);
    return parent !== '.' && freshDirs.has(parent);
  };
  const keys = [...after.keys()].sort(compareBytes);
  for (const rel of keys) {
    const now = after.get(rel)!;
    const old = underFresh(rel) ? undefined : before.get(rel);
    if (isDirMode(now.mode)) {
      if (old === undefined) {
        freshDirs.add(rel);
        changes.set(rel, 'dir');
      } else if (!isDirMode(old.mode) || !sameDirIdentity(old, now)) {
        freshDirs.add(rel);
        changes.set(rel, 'opaque-dir');
      } else if (!dirMetaEqual(old, now)) changes.set(rel, 'dir');
    } else if (old === undefined || !entryEqual(old, now)) changes.set(rel, 'entry');
  }
  for (const rel of before.keys()) {
    if (after.has(rel)) continue;
    const parent = path.posix.dirname(rel);
    if (parent === '.') {
      changes.set(rel, 'whiteout');
      continue;
    }
    const p = after.get(parent);
    if (p && isDirMode(p.mode) && !freshDirs.has(parent) && !underFresh(parent) && before.has(parent)) {
      changes.set(rel, 'whiteout');
    }
  }
  // Ancestors: overlayfs copies every parent of a change up into the upper dir.
  for (const rel of [...changes.keys()]) {
    let parent = path.posix.dirname(rel);
    while (parent !== '.' && !changes.has(parent)) {
      changes.set(parent, 'dir');
      parent = path.posix.dirname(parent);
    }
  }
  return [...changes.entries()]
    .map(([rel, kind]) => ({ rel, kind }))
    .sort((a, b) => compareBytes(a.rel, b.rel));
}

/** Makes overlayfs whiteouts (0/0 character devices); one shell for all of them. */
async function makeWhiteouts(paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  await execFileP('sh', ['-c', 'for p; do mknod "$p" c 0 0 || exit 1; done', 'sh', ...paths]);
}

/**
 * Writes the changes found in `tree` as an overlay upper dir at `out`: whiteouts first (their parent
 * directories get their metadata from the tar copy that follows), then every other changed entry and
 * ancestor through `tarCopy`, then the opaque markers.
 */
async function writeChanges(
  tree: string,
  out: string,
  changes: TreeChange[],
  scratch: string,
  userxattr: boolean,
) {
  const whiteouts = changes.filter((c) => c.kind === 'whiteout');
  for (const w of whiteouts) await mkdir(path.dirname(path.join(out, w.rel)), { recursive: true });
  await makeWhiteouts(whiteouts.map((w) => path.join(out, w.rel)));
  const copied = changes.filter((c) => c.kind !== 'whiteout').map((c) => c.rel);
  await tarCopy(tree, out, copied, path.join(scratch, 'list'));
  for (const c of changes) {
    if (c.kind === 'opaque-dir')
      writeXattr(path.join(out, c.rel), opaqueXattrName(userxattr), Buffer.from('y'));
  }
}

/**
 * Applies one diff dir to a tree, as an overlay mount would show it: whiteouts and opaque directories
 * delete what is below, an entry of another kind (file over directory…) replaces the old one, then
 * everything else is copied over with its metadata (overlay markers dropped).
 */
async function applyDiffDir(
  diffDir: string,
  tree: string,
  scratch: string,
  userxattr: boolean,
): Promise<void> {
  const rels: string[] = [];
  const visit = async (relDir: string) => {
    for (const name of (await readdir(path.join(diffDir, relDir))).sort(compareBytes)) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const host = path.join(diffDir, rel);
      const st = lstatSync(host);
      const target = path.join(tree, rel);
      if (isWhiteoutStat(st)) {
        await rm(target, { recursive: true, force: true });
        continue;
      }
      const existing = lstatOrUndefined(target);
      if (
        existing &&
        (existing.isDirectory() !== st.isDirectory() || (st.isDirectory() && isOpaqueDir(host, userxattr)))
      ) {
        await rm(target, { recursive: true, force: true });
      }
      rels.push(rel);
      if (st.isDirectory()) await visit(rel);
    }
  };
  await visit('');
  await tarCopy(diffDir, tree, rels, path.join(scratch, 'list'), { dropOverlayXattrs: true });
}

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Copy driver, for where overlayfs cannot be mounted: one working tree mutated in place, a manifest
 * recorded before each step and compared after it. The changes are written as an overlay-format diff
 * dir (the same committed form as the overlay driver's), so a layer is read the same way whichever driver
 * made it. The tree after a commit (or released unchanged) is kept as a "head" and reused in place by
 * the next `prepare` of that key; any other parent is rebuilt by applying the chain's diff dirs in order.
 */
export class CopyDriver extends CommittedSnapshots implements SnapshotDriver {
  readonly kind = 'copy' as const;
  /** Live trees at a committed state, most recently used last (a stage's tip and the tree read by COPY --from). */
  private readonly heads = new Map<string, { tree: string; manifest: Manifest }>();
  private static readonly MAX_HEADS = 2;

  async close(): Promise<void> {
    for (const { tree } of this.heads.values()) await rm(tree, { recursive: true, force: true });
    this.heads.clear();
  }

  async prepare(parent: string | undefined): Promise<ActiveSnapshot> {
    const chain = await this.store.chain(parent);
    const head = parent === undefined ? undefined : this.heads.get(parent);
    if (head && parent !== undefined) {
      this.heads.delete(parent);
      return new CopyActive(this, parent, chain, head.tree, head.manifest);
    }
    const tree = await this.store.newTemp('work');
    const scratch = await this.store.newTemp();
    try {
      for (const key of [...chain].reverse()) {
        await applyDiffDir(this.store.fsDir(key), tree, scratch, this.userxattr);
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    return new CopyActive(this, parent, chain, tree, recordManifest(tree));
  }

  /** Called by a CopyActive committed as `key`, or released unchanged: its tree is kept for the next prepare. */
  async adoptHead(key: string, tree: string, manifest: Manifest): Promise<void> {
    const old = this.heads.get(key);
    this.heads.delete(key);
    if (old && old.tree !== tree) await rm(old.tree, { recursive: true, force: true });
    this.heads.set(key, { tree, manifest });
    while (this.heads.size > CopyDriver.MAX_HEADS) {
      const [oldest, h] = this.heads.entries().next().value as [string, { tree: string }];
      this.heads.delete(oldest);
      await rm(h.tree, { recursive: true, force: true });
    }
  }
}

class CopyActive implements ActiveSnapshot {
  private temp: string | undefined;
  private after: Manifest | undefined;
  private done = false;

  constructor(
    private readonly driver: CopyDriver,
    readonly parent: string | undefined,
    private readonly chain: string[],
    readonly rootfs: string,
    private readonly before: Manifest,
  ) {}

  /** Compares the tree with the manifest and writes the overlay-format diff dir (once). */
  private async writeDiffDir(): Promise<string> {
    if (this.temp) return this.temp;
    const temp = await this.driver.store.newTemp();
    const after = recordManifest(this.rootfs);
    const changes = compareManifests(this.before, after);
    await mkdir(path.join(temp, 'fs'), { mode: 0o755 });
    await writeChanges(this.rootfs, path.join(temp, 'fs'), changes, temp, this.driver.userxattr);
    await rm(path.join(temp, 'list'), { force: true });
    this.temp = temp;
    this.after = after;
    return temp;
  }

  async *diff(): AsyncIterable<TarEntrySpec> {
    const temp = await this.writeDiffDir();
    yield* diffDirEntries(path.join(temp, 'fs'), {
      lowers: this.chain.map((k) => this.driver.store.fsDir(k)),
      pruneUnchangedDirs: false,
      userxattr: this.driver.userxattr,
    });
  }

  async commit(key: string): Promise<string> {
    if (this.done) throw new Error('snapshot already committed or released');
    const temp = await this.writeDiffDir();
    const published = await this.driver.store.publish(temp, key, {
      ...(this.parent !== undefined ? { parent: this.parent } : {}),
      prunedDirs: false,
    });
    if (!published) await rm(temp, { recursive: true, force: true });
    this.done = true;
    await this.driver.adoptHead(key, this.rootfs, this.after!);
    return key;
  }

  /**
   * Without a commit: a tree that was only read (COPY --from a stage, a failed lookup) goes back to the
   * driver as the head of its parent, which saves rebuilding it; a changed one is deleted.
   */
  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.temp) await rm(this.temp, { recursive: true, force: true });
    if (this.parent !== undefined) {
      const now = recordManifest(this.rootfs);
      if (compareManifests(this.before, now).length === 0) {
        await this.driver.adoptHead(this.parent, this.rootfs, now);
        return;
      }
    }
    await rm(this.rootfs, { recursive: true, force: true });
  }
}
