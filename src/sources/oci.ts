import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError } from '../diagnostics/diagnostic.js';
import { imageArchitecture } from '../image/config.js';
import { configDigest, type Image } from '../image/image.js';
import { type Layer, MEDIA_TYPES } from '../image/layer.js';
import { fail, importConfig, localPath, storedLayerMediaType } from './common.js';
import { type Candidate, cachedImage, pickImage, rememberImage, statKey } from './image-common.js';
import type { ResolvedSource, Source, SourceContext } from './source.js';

/**
 * `FROM oci <dir>[:tag]`: an OCI image layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), read as
 * go-containerregistry's `layout` package reads one: the top index's manifests, nested indexes followed (a
 * multi-platform image is an index: the entry for this platform is taken, attestation manifests skipped), the
 * tag in `org.opencontainers.image.ref.name` (or containerd's `io.containerd.image.name`). Layer blobs are
 * copied into the store as they are, each checked against its descriptor's digest.
 */
export interface OciSpec {
  path: string;
  reference?: string;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string; variant?: string };
}

const INDEX_TYPES = new Set([MEDIA_TYPES.index, 'application/vnd.docker.distribution.manifest.list.v2+json']);
const MANIFEST_TYPES = new Set([
  MEDIA_TYPES.manifest,
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
const MAX_JSON = 16 << 20;

function blobPath(dir: string, digest: string): string {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  if (!m) throw new Error(`invalid digest ${digest}`);
  return path.join(dir, 'blobs', m[1]!, m[2]!);
}

function readBlobJson(dir: string, desc: Descriptor): Record<string, unknown> {
  const file = blobPath(dir, desc.digest);
  const size = statSync(file).size;
  if (size > MAX_JSON) throw new Error(`${desc.digest} is too large for a manifest`);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

type Platform = { os: string; architecture: string; variant?: string };

function platformMatches(p: Descriptor['platform'], want: Platform): boolean {
  if (!p) return true;
  const here = want;
  if (p.os && p.os !== want.os) return false;
  if (p.architecture && p.architecture !== here.architecture) return false;
  if (p.variant && here.variant && p.variant !== here.variant) return false;
  return true;
}

/** The image manifests an index leads to, each with the names of the outermost descriptor that named it. */
function collectManifests(
  dir: string,
  index: Record<string, unknown>,
  inherited: string[],
  depth: number,
  want: Platform,
): Candidate<Descriptor>[] {
  if (depth > 8) throw new Error('indexes nested too deep');
  const out: Candidate<Descriptor>[] = [];
  for (const desc of (index.manifests ?? []) as Descriptor[]) {
    const names = [desc.annotations?.[REF_NAME], desc.annotations?.[CONTAINERD_NAME]].filter(
      (n): n is string => typeof n === 'string' && n !== '',
    );
    const tags = names.length > 0 ? names : inherited;
    const type = desc.mediaType ?? '';
    if (INDEX_TYPES.has(type)) {
      const nested = collectManifests(dir, readBlobJson(dir, desc), tags, depth + 1, want);
      out.push(...nested);
    } else if (MANIFEST_TYPES.has(type) || type === '') {
      if (desc.platform?.os === 'unknown') continue; // BuildKit attestations
      if (depth > 0 && !platformMatches(desc.platform, want)) continue;
      out.push({ tags, value: desc });
    }
  }
  return out;
}

/** The OCI media type of a layer descriptor (Docker's names mapped; unknown ones decided by the blob's bytes). */
function layerMediaType(type: string | undefined, fromBytes: () => string): string {
  switch (type) {
    case MEDIA_TYPES.layer.none:
    case MEDIA_TYPES.layer.gzip:
    case MEDIA_TYPES.layer.zstd:
      return type;
    case 'application/vnd.docker.image.rootfs.diff.tar.gzip':
      return MEDIA_TYPES.layer.gzip;
    case 'application/vnd.docker.image.rootfs.diff.tar':
      return MEDIA_TYPES.layer.none;
    default:
      return fromBytes();
  }
}

export async function readOciLayout(
  dir: string,
  reference: string | undefined,
  label: string,
  ctx: SourceContext,
): Promise<Image> {
  const loc = ctx.location;
  if (!existsSync(path.join(dir, 'index.json'))) {
    throw fail('source/oci-invalid', `${label} is not an OCI image layout (no index.json)`, loc);
  }
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as Record<string, unknown>;
  // The build's target platform (a multi-platform index holds one manifest per platform), else this machine's.
  const want: Platform = ctx.platform ?? { os: 'linux', ...imageArchitecture() };
  const candidates = collectManifests(dir, index, [], 0, want);
  // A reference names images by ref.name; several candidates with one digest are one image.
  const unique = new Map<string, Candidate<Descriptor>>();
  for (const c of candidates) {
    const seen = unique.get(c.value.digest);
    if (seen) seen.tags.push(...c.tags.filter((t) => !seen.tags.includes(t)));
    else unique.set(c.value.digest, { tags: [...c.tags], value: c.value });
  }
  const desc = pickImage([...unique.values()], reference, label, ctx);
  const manifest = readBlobJson(dir, desc) as {
    config?: Descriptor;
    layers?: Descriptor[];
    annotations?: Record<string, string>;
  };
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw fail('source/oci-invalid', `${label}: manifest ${desc.digest} has no config or layers`, loc);
  }
  const raw = readBlobJson(dir, manifest.config);
  const diffIds = ((raw.rootfs as { diff_ids?: string[] } | undefined)?.diff_ids ?? []) as string[];
  if (diffIds.length !== manifest.layers.length) {
    throw fail(
      'source/oci-invalid',
      `${label}: the config lists ${diffIds.length} diff_ids for ${manifest.layers.length} layers`,
      loc,
    );
  }
  const layers: Layer[] = [];
  for (const [i, l] of manifest.layers.entries()) {
    if (!ctx.store.has(l.digest)) {
      const file = blobPath(dir, l.digest);
      if (!existsSync(file)) {
        throw fail(
          'source/oci-invalid',
          `${label}: layer blob ${l.digest} is missing (a non-distributable layer is not supported)`,
          loc,
        );
      }
      await ctx.store.put(createReadStream(file, { highWaterMark: 1 << 20 }), l.digest);
    }
    const size = ctx.store.stat(l.digest)!.size;
    const mediaType = layerMediaType(l.mediaType, () => storedLayerMediaType(ctx.store, l.digest));
    layers.push({ digest: l.digest, diffId: diffIds[i]!, size, mediaType });
  }
  return {
    config: importConfig(raw, layers, `FROM oci ${path.basename(label)}`),
    layers,
    annotations: {},
  };
}

export const ociSource: Source<OciSpec> = {
  kind: 'oci',
  async resolve(spec: OciSpec, ctx: SourceContext): Promise<ResolvedSource> {
    let dir = spec.path;
    let reference = spec.reference;
    // `oci:/path:with:colons` without a tag: the lowering split at the first colon.
    if (reference !== undefined) {
      const base = ctx.baseDir ?? process.cwd();
      const whole = `${spec.path}:${spec.reference}`;
      if (!existsSync(path.resolve(base, spec.path)) && existsSync(path.resolve(base, whole))) {
        dir = whole;
        reference = undefined;
      }
    }
    const abs = localPath(dir, ctx, 'directory', 'source/oci-missing', 'OCI layout');
    const key = statKey(abs, `${reference ?? ''}\0${JSON.stringify(ctx.platform ?? null)}`, 'index.json');
    let image = cachedImage(ctx, 'oci', key);
    if (!image) {
      try {
        image = await readOciLayout(abs, reference, dir, ctx);
      } catch (e) {
        if (e instanceof DiagnosticError) throw e;
        throw fail(
          'source/oci-invalid',
          `cannot read OCI layout ${dir}: ${(e as Error).message}`,
          ctx.location,
        );
      }
      rememberImage(ctx, 'oci', key, image);
    }
    return { image, digest: configDigest(image) };
  },
};
