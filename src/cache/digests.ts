/**
 * File digests remembered across builds by stat identity (device, inode, size, mtime and ctime in
 * nanoseconds), the way git's index and BuildKit's contenthash avoid re-reading unchanged files. The
 * digest is still of the content: a file whose stat changed is hashed again. One JSON file per cache,
 * loaded once per build and written back (temp + rename) only when something new was hashed.
 */
import { readFileSync, type Stats, statSync } from 'node:fs';
import path from 'node:path';
import { hashFileSync } from '../fsutil/hash.js';
import { atomicWrite } from './store.js';

interface Entry {
  /** `dev:ino:size:mtimeMs:ctimeMs` (sub-millisecond precision) */
  id: string;
  sha256: string;
}

const MAX_ENTRIES = 200_000;

/** Changes whenever the file's content can have changed: ctime moves on every write and cannot be set. */
function identity(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

export class FileDigestCache {
  private readonly entries = new Map<string, Entry>();
  private dirty = false;

  constructor(private readonly file?: string) {
    if (!file) return;
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as { version: number; entries: [string, Entry][] };
      if (data.version === 2) for (const [k, v] of data.entries) this.entries.set(k, v);
    } catch {
      // Missing or damaged: start empty; it is only a cache.
    }
  }

  /**
   * `sha256:<hex>` of a regular file's content. Pass a stat the caller already has (a directory
   * walk) as `stat`, so an unchanged file costs no system call at all.
   */
  async digest(file: string, stat?: Stats): Promise<string> {
    const abs = path.resolve(file);
    const id = identity(stat ?? statSync(abs));
    const known = this.entries.get(abs);
    if (known && known.id === id) return `sha256:${known.sha256}`;
    const sha256 = hashFileSync(abs);
    // A file modified while we read it gets a new ctime: then do not remember this digest.
    if (identity(statSync(abs)) === id) {
      this.entries.set(abs, { id, sha256 });
      this.dirty = true;
    }
    return `sha256:${sha256}`;
  }

  save(): void {
    if (!this.file || !this.dirty) return;
    const all = [...this.entries];
    atomicWrite(
      this.file,
      JSON.stringify({ version: 2, entries: all.slice(Math.max(0, all.length - MAX_ENTRIES)) }),
    );
    this.dirty = false;
  }
}
