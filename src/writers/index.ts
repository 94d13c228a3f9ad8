/**
 * Output types → writer modules. Adding an output = a module in writers/ and one entry here; the build
 * checks every requested type against this table before it starts.
 */
import type { OutputSpec, OutputType } from '../build/outputs.js';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { BlobStore } from '../image/blobstore.js';
import type { Image } from '../image/image.js';
import type { ClientOptions } from '../registry/client.js';
import type { PushEvent } from '../registry/push.js';
import { parseRegistryRef } from '../registry/reference.js';
import type { Compression } from '../tar/compress.js';
import { aciName, parseAciCompression, writeAci } from './aci.js';
import { normalizeTag, writeDockerArchive } from './docker.js';
import { ociImage, parseLayerCompression, parseLevel, writeOciArchive, writeOciLayout } from './oci.js';
import { pushTo } from './registry.js';
import { writeRootfsFromLayers } from './rootfs-layers.js';

export interface OutputContext {
  store: BlobStore;
  image: Image;
  /** `-t` names, as given. */
  tags: string[];
  /** Absolute destination (file or directory, by type); undefined for `registry`. */
  dest: string | undefined;
  spec: OutputSpec;
  /** SOURCE_DATE_EPOCH. */
  epoch: number;
  /** Runs `use` on a directory holding the image's final tree (materialized on demand). */
  withTree<T>(use: (dir: string) => Promise<T>): Promise<T>;
  /** Registry access for `type=registry` (extra CAs, insecure hosts). */
  registry?: ClientOptions;
  /** Progress of a push, blob by blob. */
  onPushBlob?: (e: PushEvent) => void;
}

export type OutputWriter = (ctx: OutputContext) => Promise<void>;

/**
 * Checks of an output's options that need no image (names, compression): the build runs them before any
 * step, so a bad `-t` or `compression=` fails at once instead of after the build, and no output is written.
 */
export const outputPreflight: Partial<Record<OutputType, (spec: OutputSpec, tags: string[]) => void>> = {
  rootfs: (spec) => {
    parseRootfsCompression(spec.attrs.compression);
    parseLevel(spec.attrs['compression-level']);
  },
  oci: (spec, tags) => ociPreflight(spec, tags),
  'oci-archive': (spec, tags) => ociPreflight(spec, tags),
  registry: (spec) => {
    try {
      parseRegistryRef(spec.attrs.name ?? '');
    } catch (err) {
      throw new DiagnosticError(
        error('writers/registry-name', `--output type=registry: ${(err as Error).message}`),
      );
    }
  },
  aci: (spec, tags) => {
    parseAciCompression(spec.attrs.compression);
    parseLevel(spec.attrs['compression-level']);
    const names = spec.attrs.name ? [spec.attrs.name] : tags;
    if (!names[0]) {
      throw new DiagnosticError(
        error(
          'writers/aci-name',
          'an ACI needs a name: give -t name[:version] (an AC Identifier such as example.com/app:1.0)',
        ),
      );
    }
    aciName(names[0]);
  },
};

function ociPreflight(spec: OutputSpec, tags: string[]): void {
  parseLayerCompression(spec.attrs.compression);
  parseLevel(spec.attrs['compression-level']);
  for (const t of spec.attrs.name ? [spec.attrs.name] : tags) normalizeTag(t);
}

export const outputWriters: Partial<Record<OutputType, OutputWriter>> = {
  docker: async (ctx) => {
    await writeDockerArchive(ctx.store, ctx.image, ctx.dest!, { tags: ctx.tags });
  },
  rootfs: async (ctx) => {
    // Streamed from the layers (not walked from a tree), so recorded device nodes are kept.
    await writeRootfsFromLayers(ctx.store, ctx.image, ctx.dest!, {
      clampMtime: ctx.epoch,
      compression: parseRootfsCompression(ctx.spec.attrs.compression),
      ...levelOf(ctx),
    });
  },
  oci: async (ctx) => {
    await writeOciLayout(ctx.store, await ociFor(ctx), ctx.dest!, namesOf(ctx));
  },
  'oci-archive': async (ctx) => {
    await writeOciArchive(ctx.store, await ociFor(ctx), ctx.dest!, namesOf(ctx));
  },
  registry: async (ctx) => {
    await pushTo(ctx.store, ctx.image, ctx.spec.attrs.name!, {
      epoch: ctx.epoch,
      ...(ctx.registry ? { registry: ctx.registry } : {}),
      ...(ctx.onPushBlob ? { onBlob: ctx.onPushBlob } : {}),
    });
  },
  aci: async (ctx) => {
    await writeAci(ctx.store, ctx.image, ctx.dest!, {
      tags: namesOf(ctx),
      compression: parseAciCompression(ctx.spec.attrs.compression),
      epoch: ctx.epoch,
      ...levelOf(ctx),
    });
  },
};

/** `name=` of the --output (BuildKit's attribute) or else the `-t` names. */
function namesOf(ctx: OutputContext): string[] {
  return ctx.spec.attrs.name ? [ctx.spec.attrs.name] : ctx.tags;
}

function levelOf(ctx: OutputContext): { level?: number } {
  const level = parseLevel(ctx.spec.attrs['compression-level']);
  return level === undefined ? {} : { level };
}

function ociFor(ctx: OutputContext) {
  return ociImage(ctx.store, ctx.image, {
    compression: parseLayerCompression(ctx.spec.attrs.compression),
    epoch: ctx.epoch,
    ...levelOf(ctx),
  });
}

function parseRootfsCompression(value: string | undefined): Compression {
  if (value === undefined || value === '' || value === 'none' || value === 'uncompressed') return 'none';
  if (value === 'gzip' || value === 'zstd' || value === 'xz' || value === 'bzip2') return value;
  throw new DiagnosticError(
    error(
      'writers/compression',
      `unsupported compression "${value}" for a rootfs tar: expected none, gzip, zstd, xz or bzip2`,
    ),
  );
}
