import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, mkdirSync, openSync, renameSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { type Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeChunksSync } from '../fsutil/write.js';

/**
 * Streams `source` (through `transforms`, e.g. a compressor) into `dest` through a temporary name in the same
 * directory and renames it into place at the end: a reader never sees half an output, and a failed or killed
 * write leaves at most a `.tmp-` file. One pipeline, so an error at any stage (a file that changed size while
 * being archived, a failing compressor) fails the write instead of leaving it hanging.
 */
export async function writeFileAtomic(
  dest: string,
  source: Readable | AsyncIterable<Buffer>,
  ...transforms: Duplex[]
): Promise<number> {
  const dir = path.dirname(path.resolve(dest));
  mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(dest)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  if (transforms.length === 0 && !(source instanceof Readable)) {
    // Chunks made in this process (a tar of blobs): gathered synchronous writes, no stream.
    const fd = openSync(temp, 'wx', 0o644);
    try {
      const n = await writeChunksSync(fd, source);
      closeSync(fd);
      renameSync(temp, dest);
      return n;
    } catch (e) {
      closeSync(fd);
      unlinkSync(temp);
      throw e;
    }
  }
  const out = createWriteStream(temp, { flags: 'wx', mode: 0o644 });
  try {
    // biome-ignore lint/suspicious/noExplicitAny: pipeline's overloads cannot type a spread of stages
    await (pipeline as (...streams: any[]) => Promise<void>)(source, ...transforms, out);
    renameSync(temp, dest);
  } catch (e) {
    // The stream opens its file asynchronously: wait until it is closed, or the unlink could come before
    // the open and leave the temp file behind.
    out.destroy();
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    try {
      unlinkSync(temp);
    } catch {
      // never created
    }
    throw e;
  }
  return out.bytesWritten;
}
