import type { TarEntrySpec } from '../tar/entry.js';
import type { DiffDirOptions } from './diffdir.js';

export type SnapshotKind = 'overlay' | 'copy';

/**
 * A snapshot driver keeps committed snapshots — immutable directories named by a key (the step's cache
 * key), each holding one step's changes in overlayfs upper-dir format plus its parent's key — and gives
 * writable trees on top of them.
 *
 * Typical step of the interpreter:
 * ```ts
 * const active = await driver.prepare(parentKey);      // undefined parent: an empty tree (FROM scratch, base import)
 * try {
 *   await runStep({ rootfs: active.rootfs, … });        // or COPY into active.rootfs, or extract a base layer
 *   await active.commit(stepKey);                      // atomic: temp name, then rename
 * } finally {
 *   await active.release();                            // unmount / delete whatever is left
 * }
 * const layer = driver.diff(stepKey);                  // TarEntrySpec stream for tar/writer.ts
 * ```
 */
export interface SnapshotDriver {
  readonly kind: SnapshotKind;
  /** The driver's own directory (`<cache>/snapshots/<kind>`). */
  readonly root: string;
  /** Whether a committed snapshot with this key exists. */
  has(key: string): Promise<boolean>;
  /** A writable tree on top of the committed snapshot `parent` (and its ancestors). */
  prepare(parent: string | undefined): Promise<ActiveSnapshot>;
  /**
   * Publishes `tree` — a finished tree made elsewhere on this filesystem (a base extracted while it was
   * converted) — as a bottom snapshot `key`, by moving it. If `key` already exists, `tree` is deleted. Throws when
   * it cannot be moved (another filesystem: EXDEV) or published, leaving nothing in the driver; whatever is
   * still at `tree` is then the caller's to remove.
   */
  adopt(tree: string, key: string): Promise<void>;
  /** The layer of a committed snapshot: its changes against its parent, sorted, with whiteouts. */
  diff(key: string): AsyncIterable<TarEntrySpec>;
  /** What `diff(key)` reads, as plain data: another thread can make the layer with `diffDirEntries`. */
  diffSource(key: string): Promise<DiffSource>;
  /** The parent key of a committed snapshot (undefined for a bottom one). */
  parentOf(key: string): Promise<string | undefined>;
  /** Deletes a committed snapshot (cache pruning). Its children become unusable. */
  remove(key: string): Promise<void>;
  /** Frees working state kept between steps (the copy driver's live tree). */
  close(): Promise<void>;
  /** Removes temp dirs left by killed builds (not those of live ones). Call once at build start. */
  sweep(): Promise<number>;
}

/** A committed snapshot's diff dir and how to read it (`diffDirEntries(source.upper, source)`). */
export interface DiffSource extends DiffDirOptions {
  upper: string;
}

export interface ActiveSnapshot {
  /** Where the step runs or writes: an overlay merged dir, or the copy driver's working tree. */
  readonly rootfs: string;
  readonly parent: string | undefined;
  /**
   * The changes made in `rootfs` so far, as a layer. Consume it fully before `commit` or `release`;
   * after a commit, `driver.diff(key)` gives the same entries from the immutable snapshot.
   */
  diff(): AsyncIterable<TarEntrySpec>;
  /**
   * Makes the changes an immutable snapshot named `key`: written under a temporary name and renamed, so
   * a killed build never leaves half a snapshot. If `key` already exists (another build committed it
   * first) the existing one is kept and this one dropped. Returns the key.
   */
  commit(key: string): Promise<string>;
  /** Unmounts and deletes the working state; safe to call twice and after `commit`. */
  release(): Promise<void>;
}

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Keys name directories and appear in overlay mount options: no `/`, `:`, `,` or leading dot. */
export function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid snapshot key ${JSON.stringify(key)}`);
  return key;
}
