/**
 * File digests remembered across builds by stat identity (device, inode, size, mtime and ctime in
 * nanoseconds), the way git's index and BuildKit's contenthash avoid re-reading unchanged files. The
 * digest is still of the content: a file whose stat changed is hashed again. One JSON file per cache,
 * loaded once per build and written back (temp + rename) only when something new was hashed.
 */
import { readFileSync, type Stats, statSync } from 'node:fs';
import path from 'node:path';
import { hashFileInWorker, hashFileSync } from '../fsutil/hash.js';
import { atomicWrite } from './store.js';

interface Entry {
  /** `dev:ino:size:mtimeMs:ctimeMs` (sub-millisecond precision) */
  id: string;
  sha256: string;
}

const MAX_ENTRIES = 200_000;
/** Files at least this big are hashed on a worker thread when the caller has other work meanwhile. */
const WORKER_THRESHOLD = 16 << 20;

/** Changes whenever the file's content can have changed: ctime moves on every write and cannot be set. */
function identity(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** Absolute with no `.`/`..` component, no `//` and no trailing `/`: what path.resolve would return as it is. */
function isCleanAbsolute(p: string): boolean {
  return (
    p.startsWith('/') &&
    p.length > 1 &&
    !p.endsWith('/') &&
    !p.includes('//') &&
    !p.includes('/./') &&
    !p.includes('/../') &&
    !p.endsWith('/.') &&
    !p.endsWith('/..')
  );
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
   * walk) as `stat`, so an unchanged file costs no system call at all. `offThread`: the caller works
   * meanwhile (a base tarball converted while it is hashed), so a big file is hashed on a worker
   * thread. Otherwise it is hashed here: a worker costs ~60 ms to start, as much as hashing 50 MB.
   */
  async digest(file: string, stat?: Stats, options: { offThread?: boolean } = {}): Promise<string> {
    // A walk's paths are absolute and clean already (one resolve per file was 5 % of a no-change rebuild).
    const abs = isCleanAbsolute(file) ? file : path.resolve(file);
    const st = stat ?? statSync(abs);
    const id = identity(st);
    const known = this.entries.get(abs);
    if (known && known.id === id) return `sha256:${known.sha256}`;
    const sha256 =
      options.offThread && st.size >= WORKER_THRESHOLD ? await hashFileInWorker(abs) : hashFileSync(abs);
    // A file modified while we read it gets a new ctime: then do not remember this digest.
    if (identity(statSync(abs)) === id) {
      this.entries.set(abs, { id, sha256 });
      this.dirty = true;
    }
    return `sha256:${sha256}`;
  }

  /** The remembered digest of `file` if its stat identity has not changed since; never reads it. */
  known(file: string): string | undefined {
    const abs = path.resolve(file);
    const entry = this.entries.get(abs);
    if (!entry) return undefined;
    try {
      return entry.id === identity(statSync(abs)) ? `sha256:${entry.sha256}` : undefined;
    } catch {
      return undefined;
    }
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
