import { rm } from 'node:fs/promises';
import type { BuildCache } from '../cache/store.js';
import { singleIdMapping } from '../fsutil/owner.js';
import { ExtractWhileWritten } from '../tar/extract-gnu.js';
import type { TarTap } from '../tar/writer.js';

/**
 * Base trees extracted while their layer is converted. A source that makes its bottom layer itself (FROM
 * tarball, stage3) asks `tap()` for a sink as it starts writing it; GNU tar then extracts the layer into a
 * directory of the cache's tmp/ as the bytes are made, and when a step needs the base's tree, `take`
 * hands that directory over to become the materialized snapshot (a rename) instead of an extraction after
 * the conversion. One directory per base key; whatever is not taken is removed by `discard`, and a killed
 * build's directory by the cache's tmp sweep.
 */
export class BaseTreesAhead {
  private readonly pending = new Map<string, { dir: string; tap: ExtractWhileWritten }>();
  private current: { dir: string; tap: ExtractWhileWritten } | undefined;

  constructor(private readonly cache: BuildCache) {}

  /**
   * For SourceContext.bottomLayerTap during one base's resolution: a tap for the first layer asked for, none
   * after. None either where GNU tar could not write the tree as extraction would (a single-id user
   * namespace records owners in xattrs).
   */
  tap(): TarTap | undefined {
    if (this.current || singleIdMapping()) return undefined;
    const dir = this.cache.makeTempDir('ahead');
    this.current = { dir, tap: new ExtractWhileWritten(dir) };
    return this.current.tap;
  }

  /** Ends the resolution `tap` served: its tree, if any, belongs to base `key` from now on. */
  async resolved(key: string): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (!current) return;
    const old = this.pending.get(key);
    this.pending.set(key, current);
    if (old) await this.drop(old);
  }

  /** A resolution that failed: its tap's tree is dropped. */
  async failed(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (current) await this.drop(current);
  }

  /**
   * The fully extracted tree of base `key` if it is the layer `diffId` (a directory the caller now owns and
   * moves away), else undefined (nothing was extracted, the extraction failed, or it was of another layer).
   */
  async take(key: string, diffId: string): Promise<string | undefined> {
    const entry = this.pending.get(key);
    if (!entry) return undefined;
    this.pending.delete(key);
    if ((await entry.tap.done) === diffId) return entry.dir;
    await this.drop(entry);
    return undefined;
  }

  /** Removes every tree not taken (waiting for its tar to finish first). */
  async discard(): Promise<void> {
    const all = [...this.pending.values(), ...(this.current ? [this.current] : [])];
    this.pending.clear();
    this.current = undefined;
    await Promise.all(all.map((e) => this.drop(e)));
  }

  private async drop(entry: { dir: string; tap: ExtractWhileWritten }): Promise<void> {
    entry.tap.spoil();
    await entry.tap.done;
    await rm(entry.dir, { recursive: true, force: true });
  }
}
