import { type Compression, type CompressOptions, compressStream } from '../tar/compress.js';
import { walkTree } from '../tar/tree.js';
import { tarStream } from '../tar/writer.js';
import { writeFileAtomic } from './atomic.js';

export interface RootfsOutputOptions extends CompressOptions {
  /** SOURCE_DATE_EPOCH: later mtimes are clamped to it. */
  clampMtime?: number;
  /** Default none (`docker import` takes any of them). */
  compression?: Compression;
}

/**
 * `--output type=rootfs`: one deterministic tar of the final tree (byte-ordered entries, PAX, no
 * uname/gname), for `docker import`. Streams from the tree to the file.
 */
export async function writeRootfsTar(
  treeDir: string,
  dest: string,
  options: RootfsOutputOptions = {},
): Promise<number> {
  const tar = tarStream(
    walkTree(treeDir),
    options.clampMtime === undefined ? {} : { clampMtime: options.clampMtime },
  );
  const compression = options.compression ?? 'none';
  return compression === 'none'
    ? writeFileAtomic(dest, tar)
    : writeFileAtomic(dest, tar, compressStream(compression, options));
}
