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

/** The worker's code (CommonJS, eval'd: it works the same from dist/ and from the TypeScript sources in tests). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
try {
  const h = createHash(workerData.algorithm);
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(workerData.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(n === buf.length ? buf : buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  parentPort.postMessage({ hex: h.digest('hex') });
} catch (e) {
  parentPort.postMessage({ error: e.message, code: e.code });
}
`;

/**
 * `hashFileSync` on a worker thread: the event loop stays free, so a big file (a 200 MB base tarball) can be
 * hashed on one core while the main thread converts it on the other.
 */
export async function hashFileInWorker(
  file: string,
  algorithm: 'sha256' | 'sha512' = 'sha256',
): Promise<string> {
  const { Worker } = await import('node:worker_threads');
  return new Promise<string>((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { file, algorithm } });
    worker.once('message', (m: { hex?: string; error?: string; code?: string }) => {
      void worker.terminate();
      if (m.hex) resolve(m.hex);
      else reject(Object.assign(new Error(m.error ?? 'hashing failed'), { code: m.code }));
    });
    worker.once('error', reject);
  });
}
