import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { compressStream } from '../tar/compress.js';
import type { BlobStore } from './blobstore.js';
import { digestHex } from './blobstore.js';
import { type Layer, type LayerCompression, layerCompression, MEDIA_TYPES, openLayerTar } from './layer.js';

/**
 * Layers rootc makes are stored uncompressed (the docker output and the cache want speed); registries and
 * OCI layouts want them compressed. `layerVariant` returns the layer in the asked compression, compressing
 * it deterministically once and remembering the result in a small index next to the blobs
 * (`variants/<diffId hex>.<compression>[-<level>].json` → digest, size, media type), so a rebuild reuses the
 * blob instead of compressing again. Layers already compressed (base layers from existing images) are never
 * rewritten: their bytes, digests and sizes are kept whatever is asked.
 */
export async function layerVariant(
  store: BlobStore,
  layer: Layer,
  compression: LayerCompression,
  level?: number,
): Promise<Layer> {
  if (layerCompression(layer) !== 'none' || compression === 'none') return layer;
  const indexDir = path.join(store.dir, 'variants');
  const indexFile = path.join(
    indexDir,
    `${digestHex(layer.diffId)}.${compression}${level === undefined ? '' : `-${level}`}.json`,
  );
  const known = readIndex(indexFile);
  if (known && store.stat(known.digest)?.size === known.size && known.diffId === layer.diffId) return known;

  const writer = store.writer();
  try {
    await pipeline(
      await openLayerTar(store, layer),
      compressStream(compression, level === undefined ? {} : { level }),
      writer,
    );
  } catch (e) {
    writer.abort();
    throw e;
  }
  const blob = writer.commit();
  const variant: Layer = {
    digest: blob.digest,
    diffId: layer.diffId,
    size: blob.size,
    mediaType: MEDIA_TYPES.layer[compression],
  };
  mkdirSync(indexDir, { recursive: true });
  const temp = `${indexFile}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, JSON.stringify(variant));
  renameSync(temp, indexFile);
  return variant;
}

function readIndex(file: string): Layer | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<Layer>;
    if (
      typeof v.digest === 'string' &&
      typeof v.diffId === 'string' &&
      typeof v.size === 'number' &&
      typeof v.mediaType === 'string'
    )
      return { digest: v.digest, diffId: v.diffId, size: v.size, mediaType: v.mediaType };
  } catch {
    // missing or unreadable: compress again
  }
  return undefined;
}
