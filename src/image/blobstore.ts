import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { openFileSync } from '../fsutil/readstream.js';
import { writeChunksSync } from '../fsutil/write.js';

export interface BlobInfo {
  /** `sha256:<hex>` */
  digest: string;
  size: number;
}

const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

export function digestHex(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m) throw new Error(`not a sha256 digest: ${digest}`);
  return m[1]!;
}

/**
 * Content-addressed blobs under `<dir>/blobs/sha256/<hex>` (the OCI layout's own shape, so a store can be
 * copied into a layout as is). A blob is written to `<dir>/tmp/<random>` while its hash is computed and
 * renamed into place only when complete: a killed process never leaves a half blob, and two processes
 * writing the same blob both succeed (rename over an identical file).
 */
export class BlobStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = path.resolve(dir);
    mkdirSync(path.join(this.dir, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(path.join(this.dir, 'tmp'), { recursive: true });
  }

  path(digest: string): string {
    return path.join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  has(digest: string): boolean {
    return this.stat(digest) !== undefined;
  }

  stat(digest: string): BlobInfo | undefined {
    try {
      return { digest, size: statSync(this.path(digest)).size };
    } catch {
      return undefined;
    }
  }

  open(digest: string): Readable {
    if (!this.has(digest))
      throw new DiagnosticError(
        error('image/missing-blob', `blob ${digest} is not in the store ${this.dir}`),
      );
    return openFileSync(this.path(digest));
  }

  /** A writable that hashes what it gets; `commit()` after it finished moves the blob into place. */
  writer(): BlobWriter {
    return new BlobWriter(this);
  }

  /** Stores a stream; with `expected`, a different digest is an error and nothing is stored. */
  async put(source: Readable | AsyncIterable<Buffer>, expected?: string): Promise<BlobInfo> {
    const w = this.writer();
    try {
      await pipeline(source, w);
    } catch (e) {
      w.abort();
      throw e;
    }
    return w.commit(expected);
  }

  /**
   * Stores chunks as they come, hashed and written with synchronous gathered writes (`writev`): no stream,
   * no copy into bigger buffers. For producers in this process (a layer's tar chunks), where the stream
   * machinery and batching copies cost more than the writes themselves.
   */
  async putChunks(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, expected?: string): Promise<BlobInfo> {
    const temp = this.tempPath();
    const fd = openSync(temp, 'wx', 0o644);
    const hash = createHash('sha256');
    let size: number;
    try {
      size = await writeChunksSync(fd, chunks, (c) => hash.update(c));
    } catch (e) {
      closeSync(fd);
      safeUnlink(temp);
      throw e;
    }
    closeSync(fd);
    const digest = `sha256:${hash.digest('hex')}`;
    if (expected && expected !== digest) {
      safeUnlink(temp);
      throw new DiagnosticError(
        error('image/digest-mismatch', `content digest mismatch: expected ${expected}, got ${digest}`),
      );
    }
    renameSync(temp, this.path(digest));
    return { digest, size };
  }

  async putBytes(data: Buffer | string, expected?: string): Promise<BlobInfo> {
    return this.put([Buffer.from(data)] as unknown as AsyncIterable<Buffer>, expected);
  }

  /**
   * Removes temp files older than `maxAgeMs` (left by killed processes; a live writer's file is younger).
   * Returns how many were removed.
   */
  pruneTemp(maxAgeMs = 24 * 3600 * 1000): number {
    let n = 0;
    const now = Date.now();
    for (const name of readdirSync(path.join(this.dir, 'tmp'))) {
      const p = path.join(this.dir, 'tmp', name);
      try {
        if (now - statSync(p).mtimeMs > maxAgeMs) {
          unlinkSync(p);
          n++;
        }
      } catch {
        // raced with its writer or another pruner
      }
    }
    return n;
  }

  /** @internal */
  tempPath(): string {
    return path.join(this.dir, 'tmp', `${process.pid}-${randomBytes(8).toString('hex')}`);
  }
}

export class BlobWriter extends Writable {
  private readonly hash = createHash('sha256');
  private readonly file: ReturnType<typeof createWriteStream>;
  private readonly temp: string;
  private bytes = 0;
  private state: 'open' | 'finished' | 'done' = 'open';

  constructor(private readonly store: BlobStore) {
    super({ highWaterMark: 1 << 16 });
    this.temp = store.tempPath();
    this.file = createWriteStream(this.temp, { flags: 'wx', mode: 0o644 });
    this.file.on('error', (e) => this.destroy(e));
  }

  get size(): number {
    return this.bytes;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.file.write(chunk)) cb();
    else this.file.once('drain', () => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.file.end(() => {
      this.state = 'finished';
      cb();
    });
    this.file.once('error', (e) => cb(e));
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // autoDestroy runs this after a clean finish too: keep the temp file for commit() then.
    if (err || this.state === 'open') this.abort();
    cb(err);
  }

  /** Moves the finished blob into place. With `expected`, a mismatch removes it and throws. */
  commit(expected?: string): BlobInfo {
    if (this.state !== 'finished') throw new Error('blob writer: commit before the stream finished');
    const digest = `sha256:${this.hash.digest('hex')}`;
    this.state = 'done';
    if (expected && expected !== digest) {
      safeUnlink(this.temp);
      throw new DiagnosticError(
        error('image/digest-mismatch', `content digest mismatch: expected ${expected}, got ${digest}`),
      );
    }
    renameSync(this.temp, this.store.path(digest));
    return { digest, size: this.bytes };
  }

  /** Drops the temp file (on any failure). */
  abort(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    // The file may still be opening: unlink now and again once the stream has closed.
    this.file.once('close', () => safeUnlink(this.temp));
    this.file.destroy();
    safeUnlink(this.temp);
  }
}

function safeUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}
