import { writevSync } from 'node:fs';

/**
 * Writes chunks to `fd` with synchronous gathered writes (`writev`, up to 1 MiB or 512 buffers at a time),
 * calling `onChunk` for each (a hash). For producers in this process — a layer's or an archive's tar chunks —
 * where a write stream (a thread-pool round trip per write) and batching copies cost more than the writes.
 * The chunks must not be reused by their producer once yielded. Returns the byte count.
 */
export async function writeChunksSync(
  fd: number,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  onChunk?: (chunk: Buffer) => void,
): Promise<number> {
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    let bufs = pending;
    while (bufs.length > 0) {
      let n = writevSync(fd, bufs);
      // A short write: drop what went out and go on with the rest.
      while (n > 0 && bufs.length > 0) {
        const first = bufs[0]!;
        if (first.length <= n) {
          n -= first.length;
          bufs = bufs.slice(1);
        } else {
          bufs = [first.subarray(n), ...bufs.slice(1)];
          n = 0;
        }
      }
    }
    pending = [];
    pendingBytes = 0;
  };
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    onChunk?.(chunk);
    size += chunk.length;
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= 1 << 20 || pending.length >= 512) flush();
  }
  flush();
  return size;
}
