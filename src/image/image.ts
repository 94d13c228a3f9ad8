import { canonicalJson, sha256Digest } from './canonical.js';
import {
  type ContainerConfig,
  epochToCreated,
  type HistoryEntry,
  type ImageConfig,
  imageArchitecture,
} from './config.js';
import { type Layer, MEDIA_TYPES } from './layer.js';

/**
 * An image as an immutable value: config + ordered layers + manifest annotations. Like go-containerregistry's
 * `mutate`, every change is a pure function returning a new value; nothing here does I/O, and an Image is
 * plain JSON (cacheable). The layers' bytes live in a BlobStore.
 */
export interface Image {
  readonly config: ImageConfig;
  readonly layers: readonly Layer[];
  readonly annotations: Readonly<Record<string, string>>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** `FROM scratch`: no layers, an empty config for this platform. */
export function emptyImage(options: { architecture?: string; variant?: string; os?: string } = {}): Image {
  const arch = imageArchitecture();
  const architecture = options.architecture ?? arch.architecture;
  const variant = options.variant ?? (options.architecture ? undefined : arch.variant);
  return deepFreeze({
    config: {
      architecture,
      ...(variant ? { variant } : {}),
      os: options.os ?? 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [] },
      history: [],
    },
    layers: [],
    annotations: {},
  });
}

export interface HistoryInput {
  created_by?: string;
  comment?: string;
  author?: string;
  /** Seconds since the epoch (SOURCE_DATE_EPOCH); becomes RFC 3339 `created`. */
  created?: number;
}

function history(h: HistoryInput, emptyLayer: boolean): HistoryEntry {
  return {
    ...(h.created !== undefined ? { created: epochToCreated(h.created) } : {}),
    ...(h.created_by !== undefined ? { created_by: h.created_by } : {}),
    ...(h.author !== undefined ? { author: h.author } : {}),
    ...(h.comment !== undefined ? { comment: h.comment } : {}),
    ...(emptyLayer ? { empty_layer: true } : {}),
  };
}

/** mutate.Append: the layer on top, its diff_id in rootfs, and its history entry. */
export function appendLayer(image: Image, layer: Layer, h: HistoryInput = {}): Image {
  const c = image.config;
  return deepFreeze({
    config: {
      ...c,
      rootfs: { type: 'layers', diff_ids: [...c.rootfs.diff_ids, layer.diffId] },
      history: [...c.history, history(h, false)],
    },
    layers: [...image.layers, layer],
    annotations: image.annotations,
  });
}

/** A history entry for a step that changed no files (ENV, CMD, …). */
export function appendHistory(image: Image, h: HistoryInput): Image {
  return deepFreeze({
    ...image,
    config: { ...image.config, history: [...image.config.history, history(h, true)] },
  });
}

/** mutate.Config: merge fields into the container config (`undefined` removes a field). */
export function withContainerConfig(image: Image, patch: Partial<ContainerConfig>): Image {
  const next: ContainerConfig = { ...image.config.config };
  for (const [k, v] of Object.entries(patch) as [keyof ContainerConfig, unknown][]) {
    if (v === undefined) delete next[k];
    else (next as Record<string, unknown>)[k] = v;
  }
  return deepFreeze({ ...image, config: { ...image.config, config: next } });
}

/** Top-level config fields: created (seconds), author, architecture, os, variant. */
export function withImageFields(
  image: Image,
  patch: { created?: number; author?: string; architecture?: string; os?: string; variant?: string },
): Image {
  const c: ImageConfig = { ...image.config };
  if (patch.created !== undefined) c.created = epochToCreated(patch.created);
  if (patch.author !== undefined) c.author = patch.author;
  if (patch.architecture !== undefined) c.architecture = patch.architecture;
  if (patch.os !== undefined) c.os = patch.os;
  if (patch.variant !== undefined) c.variant = patch.variant;
  return deepFreeze({ ...image, config: c });
}

export function withAnnotations(image: Image, annotations: Record<string, string>): Image {
  return deepFreeze({ ...image, annotations: { ...image.annotations, ...annotations } });
}

/** Sets an environment variable the way ENV does (replacing an existing KEY=). */
export function setEnv(image: Image, key: string, value: string): Image {
  const env = (image.config.config.Env ?? []).filter((e) => e.split('=', 1)[0] !== key);
  return withContainerConfig(image, { Env: [...env, `${key}=${value}`] });
}

/** The config blob: canonical JSON (sorted keys), so equal configs have equal digests. */
export function configBytes(image: Image): Buffer {
  return Buffer.from(canonicalJson(image.config));
}

/** The image ID Docker shows: the config digest. */
export function configDigest(image: Image): string {
  return sha256Digest(configBytes(image));
}

export function configDescriptor(image: Image): Descriptor {
  const bytes = configBytes(image);
  return { mediaType: MEDIA_TYPES.config, digest: sha256Digest(bytes), size: bytes.length };
}

/** The OCI image manifest for this image (its digest is the image's content address in a registry). */
export function manifestBytes(image: Image): Buffer {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: configDescriptor(image),
    layers: image.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(Object.keys(image.annotations).length > 0 ? { annotations: { ...image.annotations } } : {}),
  };
  return Buffer.from(canonicalJson(manifest));
}

export function manifestDescriptor(image: Image, annotations?: Record<string, string>): Descriptor {
  const bytes = manifestBytes(image);
  return {
    mediaType: MEDIA_TYPES.manifest,
    digest: sha256Digest(bytes),
    size: bytes.length,
    ...(annotations ? { annotations } : {}),
  };
}

/** Checks the invariants (one diff_id per layer, history non-empty entries match layers) like ggcr's validate. */
export function validateImage(image: Image): string[] {
  const problems: string[] = [];
  const ids = image.config.rootfs.diff_ids;
  if (ids.length !== image.layers.length)
    problems.push(`${image.layers.length} layers but ${ids.length} diff_ids`);
  image.layers.forEach((l, i) => {
    if (ids[i] !== l.diffId) problems.push(`layer ${i}: diff_id ${l.diffId} but config has ${ids[i]}`);
  });
  const nonEmpty = image.config.history.filter((h) => !h.empty_layer).length;
  if (image.config.history.length > 0 && nonEmpty !== image.layers.length) {
    problems.push(`${nonEmpty} non-empty history entries for ${image.layers.length} layers`);
  }
  return problems;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
  }
  return v;
}
