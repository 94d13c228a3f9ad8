import { closeSync, constants, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';

const CHUNK = 1 << 20;

/**
 * A file's bytes as a stream, read with synchronous calls. For tar writing this is several times faster than
 * `createReadStream`: a tree of 30,000 small files costs an open/read/close round trip through libuv's thread
 * pool each, and the event loop sits idle in between. Reads happen only when the consumer asks (backpressure
 * holds), and the file is opened without following a final symlink. Reads at most `limit` bytes (+1 so a
 * grown file is noticed by the tar writer's size check).
 */
export function openFileSync(hostPath: string, limit = Number.POSITIVE_INFINITY): Readable {
  let fd = -1;
  let left = limit === Number.POSITIVE_INFINITY ? limit : limit + 1;
  const close = () => {
    if (fd >= 0) {
      closeSync(fd);
      fd = -1;
    }
  };
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      try {
        if (fd < 0) fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
        const want = Math.min(CHUNK, left);
        if (want <= 0) {
          close();
          this.push(null);
          return;
        }
        const buf = Buffer.allocUnsafe(want);
        const n = readSync(fd, buf, 0, want, null);
        if (n === 0) {
          close();
          this.push(null);
          return;
        }
        left -= n;
        this.push(n === want ? buf : buf.subarray(0, n));
      } catch (e) {
        close();
        this.destroy(e as Error);
      }
    },
    destroy(err, cb) {
      close();
      cb(err);
    },
  });
}

/** The same reads as `openFileSync`, as an async iterable (no stream machinery: one buffer per read). */
export async function* readFileChunks(
  hostPath: string,
  limit = Number.POSITIVE_INFINITY,
): AsyncGenerator<Buffer> {
  const fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let left = limit === Number.POSITIVE_INFINITY ? limit : limit + 1;
    while (left > 0) {
      const want = Math.min(CHUNK, left);
      const buf = Buffer.allocUnsafe(want);
      const n = readSync(fd, buf, 0, want, null);
      if (n === 0) return;
      left -= n;
      yield n === want ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}
