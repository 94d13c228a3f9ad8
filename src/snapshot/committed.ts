import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { inUserNamespace } from '../sandbox/namespace.js';
import type { TarEntrySpec } from '../tar/entry.js';
import { diffDirEntries } from './diffdir.js';
import { SnapshotStore } from './store.js';
import type { DiffSource } from './types.js';

/**
 * What both drivers share: committed snapshots are immutable overlay-format diff dirs in a SnapshotStore,
 * read the same way whichever driver made them. The drivers differ only in how they give a writable tree.
 */
export abstract class CommittedSnapshots {
  readonly store: SnapshotStore;
  readonly userxattr: boolean;

  constructor(
    readonly root: string,
    options: { userxattr?: boolean } = {},
  ) {
    this.store = new SnapshotStore(root);
    this.userxattr = options.userxattr ?? inUserNamespace();
  }

  has(key: string): Promise<boolean> {
    return this.store.has(key);
  }

  async parentOf(key: string): Promise<string | undefined> {
    return (await this.store.meta(key)).parent;
  }

  async adopt(tree: string, key: string): Promise<void> {
    const temp = await this.store.newTemp();
    try {
      await rename(tree, path.join(temp, 'fs'));
      // A bottom snapshot: no parent, and no lower to prune unchanged directories against.
      if (await this.store.publish(temp, key, { prunedDirs: false })) return;
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      throw err;
    }
    await rm(temp, { recursive: true, force: true });
  }

  async *diff(key: string): AsyncIterable<TarEntrySpec> {
    const source = await this.diffSource(key);
    yield* diffDirEntries(source.upper, source);
  }

  async diffSource(key: string): Promise<DiffSource> {
    const [, ...ancestors] = await this.store.chain(key);
    const meta = await this.store.meta(key);
    return {
      upper: this.store.fsDir(key),
      lowers: ancestors.map((k) => this.store.fsDir(k)),
      pruneUnchangedDirs: meta.prunedDirs,
      userxattr: this.userxattr,
    };
  }

  remove(key: string): Promise<void> {
    return this.store.remove(key);
  }

  sweep(): Promise<number> {
    return this.store.sweep();
  }
}
