import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Compression, type CompressOptions, compressStream, decompressStream } from '../tar/compress.js';
import type { TarEntrySpec } from '../tar/entry.js';
import {
  batchChunks,
  type TarTap,
  type TarWriteOptions,
  tapChunks,
  tapEntries,
  tarChunks,
} from '../tar/writer.js';
import type { BlobStore } from './blobstore.js';

export const MEDIA_TYPES = {
  layer: {
    none: 'application/vnd.oci.image.layer.v1.tar',
    gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
    zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  },
  config: 'application/vnd.oci.image.config.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
} as const;

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/**
 * A layer as plain data (go-containerregistry's Layer, minus the methods): JSON-serializable, so a build cache
 * entry can hold it; its bytes are `store.open(layer.digest)`.
 */
export interface Layer {
  /** sha256 of the blob as stored (compressed). */
  digest: string;
  /** sha256 of the uncompressed tar (`rootfs.diff_ids`). */
  diffId: string;
  /** Blob size in bytes. */
  size: number;
  mediaType: string;
}

export interface StoreLayerOptions extends TarWriteOptions, CompressOptions {
  /** Default gzip (what registries and every runtime accept). `none` is fastest for docker archives. */
  compression?: LayerCompression;
  /** Shown the layer's entries and uncompressed tar bytes as they are written (see TarTap). */
  tap?: TarTap;
}

/** Hashes what passes through. */
class HashTap extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/**
 * Turns an uncompressed tar stream into a stored layer in one pass: diff_id hashed on the way in, the
 * compressed blob hashed and written to the store on the way out. Nothing is held in memory.
 */
export async function storeTarAsLayer(
  store: BlobStore,
  tar: Readable,
  options: Pick<StoreLayerOptions, 'compression' | 'level'> = {},
): Promise<Layer> {
  const compression = options.compression ?? 'gzip';
  const tap = new HashTap();
  const writer = store.writer();
  try {
    if (compression === 'none') await pipeline(tar, tap, writer);
    else await pipeline(tar, tap, compressStream(compression, options), writer);
  } catch (e) {
    writer.abort();
    throw e;
  }
  const blob = writer.commit();
  const diffId = `sha256:${tap.hash.digest('hex')}`;
  return { digest: blob.digest, diffId, size: blob.size, mediaType: MEDIA_TYPES.layer[compression] };
}

/** `storeTarAsLayer` for entries (a snapshot diff, a walked tree, a normalized base tarball). */
export async function storeLayer(
  store: BlobStore,
  entries: Iterable<TarEntrySpec> | AsyncIterable<TarEntrySpec>,
  options: StoreLayerOptions = {},
): Promise<Layer> {
  const tarOptions: TarWriteOptions =
    options.clampMtime === undefined ? {} : { clampMtime: options.clampMtime };
  const { tap } = options;
  let chunks = tarChunks(tap ? tapEntries(entries, tap) : entries, tarOptions);
  if (tap) chunks = tapChunks(chunks, tap);
  let layer: Layer;
  try {
    if ((options.compression ?? 'gzip') === 'none') {
      // Uncompressed, the blob is the tar: one hash gives digest and diff_id, and the chunks go straight to disk.
      const blob = await store.putChunks(chunks);
      layer = {
        digest: blob.digest,
        diffId: blob.digest,
        size: blob.size,
        mediaType: MEDIA_TYPES.layer.none,
      };
    } else {
      const tar = Readable.from(batchChunks(chunks), { objectMode: false, highWaterMark: 1 << 16 });
      layer = await storeTarAsLayer(store, tar, options);
    }
  } catch (e) {
    tap?.end(undefined);
    throw e;
  }
  tap?.end(layer.diffId);
  return layer;
}

/** The layer's uncompressed tar bytes. */
export async function openLayerTar(store: BlobStore, layer: Layer): Promise<Readable> {
  const { stream } = await decompressStream(store.open(layer.digest));
  return stream;
}

export function layerCompression(layer: Layer): Compression {
  if (layer.mediaType.endsWith('+gzip') || layer.mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (layer.mediaType.endsWith('+zstd')) return 'zstd';
  return 'none';
}
