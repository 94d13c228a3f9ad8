import type { BlobStore } from '../image/blobstore.js';
import { flattenLayers } from '../image/flatten.js';
import type { Image } from '../image/image.js';
import type { Compression } from '../tar/compress.js';
import { tarStream } from '../tar/writer.js';
import { compressed } from './aci.js';
import { writeFileAtomic } from './atomic.js';

export interface RootfsFromLayersOptions {
  /** SOURCE_DATE_EPOCH: later mtimes are clamped to it. */
  clampMtime?: number;
  /** Default none (`docker import` takes any of them). */
  compression?: Compression;
  level?: number;
}

/**
 * `--output type=rootfs`: one deterministic tar of the image's final tree, streamed from its layers with
 * whiteouts and opaque directories applied (image/flatten.ts) rather than walked from a materialized
 * directory, so device nodes a layer records (which an unprivileged build cannot create on disk) are kept.
 */
export async function writeRootfsFromLayers(
  store: BlobStore,
  image: Image,
  dest: string,
  options: RootfsFromLayersOptions = {},
): Promise<number> {
  const tar = tarStream(
    flattenLayers(store, image),
    options.clampMtime === undefined ? {} : { clampMtime: options.clampMtime },
  );
  return writeFileAtomic(dest, compressed(tar, options.compression ?? 'none', options.level));
}
