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
}

/** Docker/OCI whiteout conventions. */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
