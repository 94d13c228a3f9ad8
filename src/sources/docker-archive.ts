import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DiagnosticError } from '../diagnostics/diagnostic.js';
import { configDigest, type Image } from '../image/image.js';
import type { Layer } from '../image/layer.js';
import { decompressStream } from '../tar/compress.js';
import { readTar } from '../tar/reader.js';
import { fail, importConfig, localPath, storedLayerMediaType } from './common.js';
import { type Candidate, cachedImage, pickImage, rememberImage, statKey } from './image-common.js';
import type { ResolvedSource, Source, SourceContext } from './source.js';

/**
 * `FROM docker-archive <path>[:tag]`: an archive `docker save` wrote (classic `<id>/layer.tar` entries, or the
 * OCI-style `blobs/sha256/…` of Docker 25+, which is also what rootc's docker output writes), read the way
 * go-containerregistry's `tarball` package reads it: `manifest.json` (Config, RepoTags, Layers) picks the image,
 * symlinked layer entries (older `docker save` links a layer shared between images) are followed, and each
 * layer blob is copied into the store byte for byte, so its digest and the config's diff_ids stay as they are.
 */
export interface DockerArchiveSpec {
  path: string;
  reference?: string;
}

interface ManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const MAX_JSON = 16 << 20;

const clean = (name: string) => path.posix.normalize(`/${name}`).slice(1);

async function* members(file: string) {
  const { stream } = await decompressStream(createReadStream(file, { highWaterMark: 1 << 20 }));
  yield* readTar(stream);
}

async function readBody(body: AsyncIterable<Buffer>, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > limit) throw new Error(`${what} is larger than ${limit} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/** Where a member name leads after following symlinks and hardlinks inside the archive. */
function resolveLink(name: string, links: Map<string, { target: string; hard: boolean }>): string {
  let current = clean(name);
  for (let hops = 0; hops < 40; hops++) {
    const link = links.get(current);
    if (!link) return current;
    current = link.hard
      ? clean(link.target)
      : clean(path.posix.join(path.posix.dirname(current), link.target));
  }
  throw new Error(`too many links resolving ${name}`);
}

/** Splits `path[:tag]` when the lowering split a path that itself contains a colon. */
function archivePath(spec: DockerArchiveSpec, ctx: SourceContext): { file: string; reference?: string } {
  if (spec.reference !== undefined) {
    const whole = path.resolve(ctx.baseDir ?? process.cwd(), `${spec.path}:${spec.reference}`);
    const head = path.resolve(ctx.baseDir ?? process.cwd(), spec.path);
    if (!existsSync(head) && existsSync(whole)) return { file: `${spec.path}:${spec.reference}` };
  }
  return { file: spec.path, ...(spec.reference !== undefined ? { reference: spec.reference } : {}) };
}

export async function readDockerArchive(
  file: string,
  reference: string | undefined,
  label: string,
  ctx: SourceContext,
): Promise<Image> {
  const loc = ctx.location;
  // Pass 1: manifest.json and the archive's links.
  let manifestBytes: Buffer | undefined;
  const links = new Map<string, { target: string; hard: boolean }>();
  const files = new Set<string>();
  for await (const m of members(file)) {
    const name = clean(m.header.name);
    if (m.header.type === 'symlink' || m.header.type === 'hardlink')
      links.set(name, { target: m.header.linkname, hard: m.header.type === 'hardlink' });
    else if (m.header.type === 'file') {
      files.add(name);
      if (name === 'manifest.json') manifestBytes = await readBody(m.body(), MAX_JSON, 'manifest.json');
    }
  }
  if (!manifestBytes) {
    throw fail(
      'source/archive-invalid',
      `${label} has no manifest.json: not an archive from docker save (an OCI layout? use FROM oci)`,
      loc,
    );
  }
  let manifest: ManifestEntry[];
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as ManifestEntry[];
    if (!Array.isArray(manifest)) throw new Error('not a list');
  } catch (e) {
    throw fail(
      'source/archive-invalid',
      `${label}: manifest.json is not valid: ${(e as Error).message}`,
      loc,
    );
  }
  const candidates: Candidate<ManifestEntry>[] = manifest.map((e) => ({ tags: e.RepoTags ?? [], value: e }));
  const entry = pickImage(candidates, reference, label, ctx);
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) {
    throw fail('source/archive-invalid', `${label}: manifest.json entry without Config or Layers`, loc);
  }

  const configName = resolveLink(entry.Config, links);
  const layerNames = entry.Layers.map((l) => resolveLink(l, links));
  for (const n of [configName, ...layerNames]) {
    if (!files.has(n))
      throw fail('source/archive-invalid', `${label}: ${n} is listed but not in the archive`, loc);
  }

  // Pass 2: the config, and every layer blob streamed into the store as it is.
  const wanted = new Set(layerNames);
  const stored = new Map<string, string>();
  let configBytes: Buffer | undefined;
  for await (const m of members(file)) {
    if (m.header.type !== 'file') continue;
    const name = clean(m.header.name);
    if (name === configName) configBytes = await readBody(m.body(), MAX_JSON, entry.Config);
    else if (wanted.has(name) && !stored.has(name)) {
      const info = await ctx.store.put(Readable.from(m.body(), { objectMode: false }));
      stored.set(name, info.digest);
    }
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(configBytes!.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw fail(
      'source/archive-invalid',
      `${label}: the image config is not valid JSON: ${(e as Error).message}`,
      loc,
    );
  }
  const diffIds = ((raw.rootfs as { diff_ids?: string[] } | undefined)?.diff_ids ?? []) as string[];
  if (diffIds.length !== layerNames.length) {
    throw fail(
      'source/archive-invalid',
      `${label}: the config lists ${diffIds.length} diff_ids for ${layerNames.length} layers`,
      loc,
    );
  }
  const layers: Layer[] = layerNames.map((n, i) => {
    const digest = stored.get(n)!;
    const mediaType = storedLayerMediaType(ctx.store, digest);
    // An uncompressed layer's digest is its diff_id: a mismatch is a damaged archive.
    if (mediaType.endsWith('.tar') && digest !== diffIds[i]) {
      throw fail(
        'source/archive-invalid',
        `${label}: layer ${n} has digest ${digest}, but the config says diff_id ${diffIds[i]}`,
        loc,
      );
    }
    return { digest, diffId: diffIds[i]!, size: ctx.store.stat(digest)!.size, mediaType };
  });
  return {
    config: importConfig(raw, layers, `FROM docker-archive ${path.basename(label)}`),
    layers,
    annotations: {},
  };
}

export const dockerArchiveSource: Source<DockerArchiveSpec> = {
  kind: 'docker-archive',
  async resolve(spec: DockerArchiveSpec, ctx: SourceContext): Promise<ResolvedSource> {
    const { file, reference } = archivePath(spec, ctx);
    const abs = localPath(file, ctx, 'file', 'source/archive-missing', 'docker archive');
    const key = statKey(abs, reference ?? '');
    let image = cachedImage(ctx, 'docker-archive', key);
    if (!image) {
      try {
        image = await readDockerArchive(abs, reference, file, ctx);
      } catch (e) {
        if (e instanceof DiagnosticError) throw e;
        throw fail(
          'source/archive-invalid',
          `cannot read docker archive ${file}: ${(e as Error).message}`,
          ctx.location,
        );
      }
      rememberImage(ctx, 'docker-archive', key, image);
    }
    return { image, digest: configDigest(image) };
  },
};
