import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, readSync } from 'node:fs';

/** One read buffer for every hash: `Hash.update` copies what it is given, so the buffer can be reused. */
const buffer = Buffer.allocUnsafe(1 << 20);

/**
 * Hex digest of a file's content, read with synchronous calls into one reused buffer. A read stream per
 * file (`createReadStream` with a 1 MiB high-water mark) allocates a fresh megabyte for every file, however
 * small, and pays a thread-pool round trip per open/read/close: digesting a context of 2,000 small files
 * that way took seconds, mostly in the garbage collector. A final symlink is not followed.
 */
export function hashFileSync(file: string, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  const h = createHash(algorithm);
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      h.update(n === buffer.length ? buffer : buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
