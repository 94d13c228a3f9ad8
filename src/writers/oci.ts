import { randomBytes } from 'node:crypto';
import {
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { BlobStore } from '../image/blobstore.js';
import { canonicalJson } from '../image/canonical.js';
import { epochToCreated } from '../image/config.js';
import {
  configBytes,
  configDescriptor,
  type Descriptor,
  type Image,
  manifestBytes,
  manifestDescriptor,
} from '../image/image.js';
import { type Layer, type LayerCompression, MEDIA_TYPES } from '../image/layer.js';
import { layerVariant } from '../image/variants.js';
import type { TarEntrySpec } from '../tar/entry.js';
import { tarChunks } from '../tar/writer.js';
import { writeFileAtomic } from './atomic.js';
import { normalizeTag } from './docker.js';

export interface OciOptions {
  /** `-t` values; each becomes one index entry named by its tag (`latest` when none is given). */
  tags?: string[];
  /** For the layers rootc made (stored uncompressed); already compressed base layers are kept. Default gzip. */
  compression?: LayerCompression;
  level?: number;
  /** SOURCE_DATE_EPOCH, for the manifest's `org.opencontainers.image.created`. */
  epoch?: number;
}

/** Docker's media types for the same bytes, renamed to the OCI ones (umoci only reads OCI types). */
const OCI_LAYER_TYPE: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': MEDIA_TYPES.layer.gzip,
  'application/vnd.docker.image.rootfs.diff.tar': MEDIA_TYPES.layer.none,
  'application/vnd.docker.image.rootfs.diff.tar.zstd': MEDIA_TYPES.layer.zstd,
};

/** `compression=` of an `--output` as a layer compression (oci, oci-archive). */
export function parseLayerCompression(value: string | undefined): LayerCompression {
  if (value === undefined || value === '') return 'gzip';
  if (value === 'gzip' || value === 'zstd' || value === 'none') return value;
  if (value === 'uncompressed') return 'none';
  throw new DiagnosticError(
    error(
      'writers/compression',
      `unsupported compression "${value}" for an OCI image: expected gzip, zstd or none`,
    ),
  );
}

/** `compression-level=` as a number, or undefined. */
export function parseLevel(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value))
    throw new DiagnosticError(error('writers/compression-level', `invalid compression-level "${value}"`));
  return Number(value);
}

/**
 * The image as it goes into an OCI layout: rootc's uncompressed layers replaced by their compressed variants
 * (cached in the store), Docker layer media types renamed to OCI ones, and the manifest annotated with
 * `org.opencontainers.image.created` (ANNOTATION values, already on the image, win over it).
 */
export async function ociImage(store: BlobStore, image: Image, options: OciOptions = {}): Promise<Image> {
  const compression = options.compression ?? 'gzip';
  const layers: Layer[] = [];
  for (const l of image.layers) {
    const v = await layerVariant(store, l, compression, options.level);
    layers.push({ ...v, mediaType: OCI_LAYER_TYPE[v.mediaType] ?? v.mediaType });
  }
  const created =
    image.config.created ?? (options.epoch === undefined ? undefined : epochToCreated(options.epoch));
  return {
    config: image.config,
    layers,
    annotations: {
      ...(created ? { 'org.opencontainers.image.created': created } : {}),
      ...image.annotations,
    },
  };
}

export interface LayoutBlob {
  /** `blobs/sha256/<hex>` */
  path: string;
  size: number;
  bytes?: Buffer;
  digest: string;
}

export interface Layout {
  blobs: LayoutBlob[];
  index: Buffer;
  ociLayout: Buffer;
}

/**
 * The index entries of an OCI layout: one per distinct tag (`latest` without `-t`), with the platform and the
 * names containerd, skopeo and umoci look up (`io.containerd.image.name`, `org.opencontainers.image.ref.name`).
 */
function ociIndexManifests(image: Image, tags: string[]): Descriptor[] {
  const platform = {
    architecture: image.config.architecture,
    os: image.config.os,
    ...(image.config.variant ? { variant: image.config.variant } : {}),
  };
  const base: Descriptor & { platform: typeof platform } = { ...manifestDescriptor(image), platform };
  const refs = new Map<string, Descriptor>();
  const named = tags.length > 0 ? tags.map(normalizeTag) : [null];
  for (const t of named) {
    const ref = t?.tag ?? 'latest';
    if (refs.has(ref)) continue;
    refs.set(ref, {
      ...base,
      annotations: {
        ...(t ? { 'io.containerd.image.name': t.fullName } : {}),
        'org.opencontainers.image.ref.name': ref,
      },
    });
  }
  return [...refs.values()];
}

/**
 * The files of an OCI image layout for `image` (whose layers are all in `store`), its index listing
 * `manifests` (descriptors of the image's manifest, as each writer names them). Shared by the oci,
 * oci-archive and docker outputs (a docker archive is this layout plus `manifest.json`).
 */
export function layout(store: BlobStore, image: Image, manifests: Descriptor[]): Layout {
  const blobPath = (d: string) => `blobs/sha256/${d.slice('sha256:'.length)}`;
  const config = configBytes(image);
  const configDesc = configDescriptor(image);
  const manifest = manifestBytes(image);
  const manifestDigest = manifestDescriptor(image).digest;
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests };

  const blobs = new Map<string, LayoutBlob>();
  blobs.set(configDesc.digest, {
    path: blobPath(configDesc.digest),
    bytes: config,
    size: config.length,
    digest: configDesc.digest,
  });
  blobs.set(manifestDigest, {
    path: blobPath(manifestDigest),
    bytes: manifest,
    size: manifest.length,
    digest: manifestDigest,
  });
  for (const layer of image.layers) {
    const st = store.stat(layer.digest);
    if (!st || st.size !== layer.size)
      throw new DiagnosticError(
        error(
          'writers/missing-layer',
          `layer ${layer.digest} is not in the blob store (or has another size)`,
        ),
      );
    blobs.set(layer.digest, { path: blobPath(layer.digest), size: st.size, digest: layer.digest });
  }
  return {
    blobs: [...blobs.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    index: Buffer.from(canonicalJson(index)),
    ociLayout: Buffer.from(canonicalJson({ imageLayoutVersion: '1.0.0' })),
  };
}

/**
 * A layout as the entries of one tar (sorted, owned by 0:0, mtime 0), with `extra` top-level files among
 * them (a docker archive's `manifest.json`); layer blobs streamed from the store, never buffered.
 */
export function* layoutArchiveEntries(
  store: BlobStore,
  l: Layout,
  extra: { path: string; bytes: Buffer }[] = [],
): Generator<TarEntrySpec> {
  const file = (p: string, size: number, open: () => Readable): TarEntrySpec => ({
    path: p,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    size,
    open,
  });
  const dir = (p: string): TarEntrySpec => ({
    path: p,
    type: 'directory',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
  });
  yield dir('blobs');
  yield dir('blobs/sha256');
  for (const b of l.blobs) {
    const bytes = b.bytes;
    yield file(b.path, b.size, bytes ? () => Readable.from([bytes]) : () => store.open(b.digest));
  }
  const top = [
    { path: 'index.json', bytes: l.index },
    { path: 'oci-layout', bytes: l.ociLayout },
    ...extra,
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const f of top) yield file(f.path, f.bytes.length, () => Readable.from([f.bytes]));
}

/**
 * `--output type=oci-archive`: the layout as one tar, written to a temp name and renamed when complete.
 */
export async function writeOciArchive(
  store: BlobStore,
  image: Image,
  dest: string,
  tags: string[] = [],
): Promise<number> {
  const l = layout(store, image, ociIndexManifests(image, tags));
  return writeFileAtomic(dest, tarChunks(layoutArchiveEntries(store, l)));
}

/**
 * `--output type=oci,dest=DIR`: an OCI image layout directory. Written as a sibling temp directory and
 * swapped in at the end, so DIR is never half written. An existing DIR is replaced only when it is an OCI
 * layout (has `oci-layout`) or empty: rootc never deletes a directory of other files.
 */
export async function writeOciLayout(
  store: BlobStore,
  image: Image,
  dest: string,
  tags: string[] = [],
): Promise<void> {
  const l = layout(store, image, ociIndexManifests(image, tags));
  const target = path.resolve(dest);
  if (existsSync(target)) {
    const st = statSync(target);
    if (
      !st.isDirectory() ||
      (readdirSync(target).length > 0 && !existsSync(path.join(target, 'oci-layout')))
    ) {
      throw new DiagnosticError(
        error(
          'writers/oci-dest',
          `${dest} exists and is not an OCI image layout: refusing to replace it (choose another dest)`,
        ),
      );
    }
  }
  const parent = path.dirname(target);
  mkdirSync(parent, { recursive: true });
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temp = path.join(parent, `.${path.basename(target)}.tmp-${suffix}`);
  try {
    mkdirSync(path.join(temp, 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
    for (const b of l.blobs) {
      const out = path.join(temp, b.path);
      if (b.bytes) writeFileSync(out, b.bytes, { mode: 0o644 });
      // A reflink where the filesystem has them, else a kernel copy; never through our memory.
      else copyFileSync(store.path(b.digest), out, constants.COPYFILE_FICLONE);
    }
    writeFileSync(path.join(temp, 'index.json'), l.index, { mode: 0o644 });
    writeFileSync(path.join(temp, 'oci-layout'), l.ociLayout, { mode: 0o644 });
    if (existsSync(target)) {
      const old = path.join(parent, `.${path.basename(target)}.old-${suffix}`);
      renameSync(target, old);
      renameSync(temp, target);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(temp, target);
  } catch (e) {
    rmSync(temp, { recursive: true, force: true });
    throw e;
  }
}
