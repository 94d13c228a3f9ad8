import type { Readable } from 'node:stream';

/**
 * One entry of a layer or rootfs tar, independent of where it comes from (a directory walk, an
 * overlay upper dir, a manifest diff, another tar). Producers (snapshot/, sources/) yield these;
 * tar/writer.ts turns them into deterministic tar bytes.
 */
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntrySpec {
  /** Path inside the image, relative, no leading `/` or `./`, `/`-separated; directories without trailing slash. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in seconds (the writer clamps it to SOURCE_DATE_EPOCH where asked). */
  mtime: number;
  /** Regular files: byte count. */
  size?: number;
  /** Symlink target, or for a hardlink the path (same form as `path`) of the entry it links to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes (`security.capability`, `user.*`, …), values as raw bytes. */
  xattrs?: Record<string, Buffer>;
  /** Regular files: opens the content. Called at most once, when the writer reaches the entry. */
  open?: () => Readable;
  /**
   * Regular files, optional: the same content as an async iterable of buffers, for in-process consumers (the tar
   * writer, extraction), cheaper than a stream per file. When present it is used instead of `open`. Producers
   * attach it with `attachChunks` (non-enumerable), so a copy made with `{ ...spec, open }` drops it and
   * falls back to the overriding `open`.
   */
  chunks?: () => AsyncIterable<Buffer>;
}

/** Sets `spec.chunks` as a non-enumerable property (see `chunks`). */
export function attachChunks(spec: TarEntrySpec, chunks: () => AsyncIterable<Buffer>): void {
  Object.defineProperty(spec, 'chunks', {
    value: chunks,
    enumerable: false,
    writable: true,
    configurable: true,
  });
}

/** The content of a file entry, preferring `chunks()` over `open()`; empty when it has neither. */
export function entryContent(spec: TarEntrySpec): AsyncIterable<Buffer> {
  if (spec.chunks) return spec.chunks();
  if (spec.open) return spec.open() as AsyncIterable<Buffer>;
  return (async function* () {})();
}

/** Docker/OCI whiteout conventions. */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
