import { Readable } from 'node:stream';
import { attachChunks, type TarEntrySpec } from './entry.js';
import { BLOCK, decodeBlock, isZeroBlock, PendingExtensions, padding, type RawHeader } from './header.js';

/** One member as read: its raw (uncleaned) header and, for files, a one-shot body. */
export interface TarMember {
  header: RawHeader;
  /** The file's bytes; must be consumed before asking for the next member (else they are skipped). */
  body(): AsyncIterable<Buffer>;
}

/** Pulls exact byte counts out of a chunk stream without copying more than a header. */
class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer | Uint8Array | string>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      if (b.length === 0) continue;
      this.chunks.push(b);
      this.buffered += b.length;
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or null at a clean end of input. Throws on a truncated read. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.buffered === 0) return null;
      throw new Error('unexpected end of tar archive');
    }
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      this.consume(take);
    }
    return out;
  }

  /** The next up to `n` (> 0) bytes as they come: a zero-copy slice of an input chunk. */
  async next(n: number): Promise<Buffer> {
    if (this.buffered === 0 && !(await this.fill(1))) throw new Error('unexpected end of tar archive');
    const c = this.chunks[0]!;
    const take = Math.min(c.length, n);
    const out = c.subarray(0, take);
    this.consume(take);
    return out;
  }

  /** Stops reading the input (destroys a stream, lets a decompressor process exit). */
  async close(): Promise<void> {
    this.done = true;
    this.chunks = [];
    this.buffered = 0;
    await this.it.return?.();
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.next(n)).length;
  }

  private consume(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }
}

/**
 * Reads a tar stream member by member (ustar, PAX incl. binary `SCHILY.xattr.*`, GNU long names and base-256
 * numbers). Extension records are folded into the member they describe; unknown member types are skipped.
 */
export async function* readTar(
  input: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array>,
): AsyncGenerator<TarMember> {
  const iterable: AsyncIterable<Buffer | Uint8Array | string> =
    Symbol.asyncIterator in input
      ? input
      : (async function* () {
          yield* input;
        })();
  const src = new ByteSource(iterable[Symbol.asyncIterator]());
  const extensions = new PendingExtensions();
  try {
    for (;;) {
      const block = await src.read(BLOCK);
      if (block === null || isZeroBlock(block)) return;
      const kind = decodeBlock(block);
      if (kind.kind === 'pax' || kind.kind === 'gnu-longname' || kind.kind === 'gnu-longlink') {
        const data = await src.read(kind.size);
        if (data === null) throw new Error('unexpected end of tar archive');
        extensions.add(kind.kind, kind.kind === 'pax' && kind.global, Buffer.from(data));
        await src.skip(padding(kind.size));
        continue;
      }
      if (kind.kind === 'skip') {
        await src.skip(kind.size + padding(kind.size));
        extensions.drop();
        continue;
      }
      const header = extensions.apply(kind.header);
      // Hardlinks and others may carry a size in odd archives; the data still has to be skipped.
      const dataSize = header.type === 'file' ? header.size : kind.header.size;
      let remaining = dataSize;
      let detached = false;
      const body = async function* (): AsyncGenerator<Buffer> {
        while (remaining > 0 && !detached) {
          const chunk = await src.next(remaining);
          remaining -= chunk.length;
          yield chunk;
        }
      };
      yield { header, body };
      detached = true;
      if (remaining > 0) await src.skip(remaining);
      await src.skip(padding(dataSize));
    }
  } finally {
    // Trailing padding (tar pads to 10 KiB records) and anything after the end is not read: release the input.
    await src.close();
  }
}

/** A member as a TarEntrySpec (path as stored, uncleaned); `open()` streams the body. */
export function memberToSpec(m: TarMember): TarEntrySpec {
  const h = m.header;
  const spec: TarEntrySpec = {
    path: h.name,
    type: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
  };
  if (h.type === 'file') {
    spec.size = h.size;
    spec.open = () => Readable.from(m.body(), { objectMode: false });
    attachChunks(spec, () => m.body());
  }
  if (h.type === 'symlink' || h.type === 'hardlink') spec.linkname = h.linkname;
  if (h.type === 'char' || h.type === 'block') {
    spec.devmajor = h.devmajor;
    spec.devminor = h.devminor;
  }
  if (Object.keys(h.xattrs).length > 0) spec.xattrs = h.xattrs;
  return spec;
}
