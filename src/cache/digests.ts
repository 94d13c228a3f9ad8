/**
 * File digests remembered across builds by stat identity (device, inode, size, mtime and ctime in
 * nanoseconds), the way git's index and BuildKit's contenthash avoid re-reading unchanged files. The
 * digest is still of the content: a file whose stat changed is hashed again. One JSON file per cache,
 * loaded once per build and written back (temp + rename) only when something new was hashed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite } from './store.js';

interface Entry {
  /** `dev:ino:size:mtimeNs:ctimeNs` */
  id: string;
  sha256: string;
}

const MAX_ENTRIES = 200_000;

export class FileDigestCache {
  private readonly entries = new Map<string, Entry>();
  private dirty = false;

  constructor(private readonly file?: string) {
    if (!file) return;
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as { version: number; entries: [string, Entry][] };
      if (data.version === 1) for (const [k, v] of data.entries) this.entries.set(k, v);
    } catch {
      // Missing or damaged: start empty; it is only a cache.
    }
  }

  /** `sha256:<hex>` of a regular file's content. */
  async digest(file: string): Promise<string> {
    const abs = path.resolve(file);
    const st = statSync(abs, { bigint: true });
    const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const known = this.entries.get(abs);
    if (known && known.id === id) return `sha256:${known.sha256}`;
    const h = createHash('sha256');
    for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
    const sha256 = h.digest('hex');
    // A file modified while we read it gets a new ctime: then do not remember this digest.
    const after = statSync(abs, { bigint: true });
    if (`${after.dev}:${after.ino}:${after.size}:${after.mtimeNs}:${after.ctimeNs}` === id) {
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
      JSON.stringify({ version: 1, entries: all.slice(Math.max(0, all.length - MAX_ENTRIES)) }),
    );
    this.dirty = false;
  }
}
