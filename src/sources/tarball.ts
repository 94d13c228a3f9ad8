import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DiagnosticError, type SourceLocation, warning } from '../diagnostics/diagnostic.js';
import { hashFileSync } from '../fsutil/hash.js';
import type { BlobStore } from '../image/blobstore.js';
import { appendLayer, emptyImage } from '../image/image.js';
import { type Layer, storeLayer } from '../image/layer.js';
import { decompressStream } from '../tar/compress.js';
import { normalizeMembers } from '../tar/normalize.js';
import { readTar } from '../tar/reader.js';
import type { TarTap } from '../tar/writer.js';
import { fail, isUrl, readJson, writeJsonAtomic } from './common.js';
import type { ResolvedSource, Source, SourceContext } from './source.js';

export interface TarballSpec {
  /** A local path (relative to `ctx.baseDir`) or an http(s) URL. */
  location: string;
  /** Expected sha256 of the file as fetched (hex, optionally `sha256:`-prefixed). */
  sha256?: string;
}

/** Bump when normalization changes what layer a tarball becomes (invalidates the per-tarball index). */
const NORMALIZE_VERSION = 1;

function expectedDigest(spec: TarballSpec, location?: SourceLocation): string | undefined {
  if (!spec.sha256) return undefined;
  const hex = spec.sha256.replace(/^sha256:/, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw fail('source/bad-sha256', `--sha256 must be 64 hex digits, got "${spec.sha256}"`, location);
  return `sha256:${hex}`;
}

interface UrlIndex {
  url: string;
  digest: string;
  etag?: string;
  lastModified?: string;
}

/**
 * Fetches a URL into the blob store (so a download is cached by its digest and written by temp name + rename)
 * and returns the digest. With an expected digest already in the store nothing is fetched; without one,
 * the last download of the URL is revalidated with its ETag / Last-Modified.
 */
export async function fetchToStore(
  url: string,
  store: BlobStore,
  cacheDir: string,
  expected?: string,
  location?: SourceLocation,
): Promise<string> {
  if (expected && store.has(expected)) return expected;
  const indexFile = path.join(
    cacheDir,
    'downloads',
    `${createHash('sha256').update(url).digest('hex')}.json`,
  );
  const previous = readJson<UrlIndex>(indexFile);
  const headers: Record<string, string> = {};
  if (!expected && previous && store.has(previous.digest)) {
    if (previous.etag) headers['if-none-match'] = previous.etag;
    if (previous.lastModified) headers['if-modified-since'] = previous.lastModified;
  }
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow' });
  } catch (e) {
    throw fail('source/download', `cannot download ${url}: ${(e as Error).message}`, location);
  }
  if (res.status === 304 && previous) return previous.digest;
  if (!res.ok || !res.body)
    throw fail('source/download', `cannot download ${url}: HTTP ${res.status} ${res.statusText}`, location);
  let info: { digest: string };
  try {
    info = await store.put(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>));
  } catch (e) {
    if (e instanceof DiagnosticError) throw e;
    throw fail('source/download', `cannot download ${url}: ${(e as Error).message}`, location);
  }
  if (expected && info.digest !== expected) {
    throw fail(
      'source/sha256-mismatch',
      `sha256 mismatch for ${url}: expected ${expected.slice(7)}, got ${info.digest.slice(7)}`,
      location,
    );
  }
  writeJsonAtomic(indexFile, {
    url,
    digest: info.digest,
    ...(res.headers.get('etag') ? { etag: res.headers.get('etag') } : {}),
    ...(res.headers.get('last-modified') ? { lastModified: res.headers.get('last-modified') } : {}),
  });
  return info.digest;
}

interface LayerIndex {
  version: number;
  layer: Layer;
  warnings: string[];
}

/**
 * Turns a (compressed or not) rootfs tarball into one normalized layer in the store: compression by magic
 * bytes, names cleaned, paths through planted symlinks rewritten, dangling hardlinks dropped, devices kept.
 */
export async function tarballToLayer(
  open: () => Readable,
  store: BlobStore,
  options: {
    compression?: SourceContext['compression'];
    onWarning?: (m: string) => void;
    /** Shown the normalized layer as it is written (the build extracts it meanwhile). */
    tap?: TarTap | undefined;
  } = {},
): Promise<Layer> {
  let stream: Readable;
  try {
    ({ stream } = await decompressStream(open()));
  } catch (e) {
    options.tap?.end(undefined);
    throw e;
  }
  const entries = normalizeMembers(
    readTar(stream),
    options.onWarning ? { onWarning: options.onWarning } : {},
  );
  return storeLayer(store, entries, {
    compression: options.compression ?? 'gzip',
    ...(options.tap ? { tap: options.tap } : {}),
  });
}

/** `FROM tarball <path|url> [--sha256=HEX]`: .tar, .tar.gz/.tgz, .tar.bz2, .tar.xz, .tar.zst, by content. */
export const tarballSource: Source<TarballSpec> = {
  kind: 'tarball',
  async resolve(spec: TarballSpec, ctx: SourceContext): Promise<ResolvedSource> {
    const loc = ctx.location;
    const expected = expectedDigest(spec, loc);
    const compression = ctx.compression ?? 'gzip';
    const convert = async (open: () => Readable): Promise<LayerIndex> => {
      const warnings: string[] = [];
      try {
        const layer = await tarballToLayer(open, ctx.store, {
          compression,
          onWarning: (m) => warnings.push(m),
          tap: ctx.bottomLayerTap?.(),
        });
        return { version: NORMALIZE_VERSION, layer, warnings };
      } catch (e) {
        if (e instanceof DiagnosticError) throw e;
        throw fail(
          'source/tarball-invalid',
          `${spec.location} is not a readable tar archive: ${(e as Error).message}`,
          loc,
        );
      }
    };
    const indexFileOf = (digest: string) =>
      path.join(ctx.cacheDir, 'sources', 'tarball', `${digest.slice(7)}-${compression}.json`);
    const cachedIndex = (digest: string): LayerIndex | undefined => {
      const index = readJson<LayerIndex>(indexFileOf(digest));
      return index && index.version === NORMALIZE_VERSION && ctx.store.has(index.layer.digest)
        ? index
        : undefined;
    };

    let digest: string;
    let open: () => Readable;
    let label: string;
    /** A conversion started before the digest was known (a local file not seen before: see below). */
    let early: Promise<LayerIndex> | undefined;
    if (isUrl(spec.location)) {
      digest = await fetchToStore(spec.location, ctx.store, ctx.cacheDir, expected, loc);
      open = () => ctx.store.open(digest);
      label = spec.location;
    } else {
      const file = path.resolve(ctx.baseDir ?? process.cwd(), spec.location);
      try {
        if (!statSync(file).isFile()) throw new Error('not a regular file');
      } catch (e) {
        throw fail(
          'source/tarball-missing',
          `cannot read tarball ${spec.location}: ${(e as Error).message}`,
          loc,
        );
      }
      open = () => createReadStream(file, { highWaterMark: 1 << 20 });
      label = path.basename(spec.location);
      if (ctx.digestFile && !expected && !ctx.knownDigest?.(file)) {
        // Not seen before, so most likely never converted either: convert while the digest is computed on a
        // worker thread (both cores busy instead of one after the other). The conversion depends only on
        // the content, so its result is right whatever the digest turns out to be.
        early = convert(open);
        early.catch(() => {}); // awaited below; an error before then must not be unhandled
      }
      digest = ctx.digestFile ? await ctx.digestFile(file) : `sha256:${hashFileSync(file)}`;
      if (expected && digest !== expected) {
        throw fail(
          'source/sha256-mismatch',
          `sha256 mismatch for ${spec.location}: expected ${expected.slice(7)}, got ${digest.slice(7)}`,
          loc,
        );
      }
    }

    let index = cachedIndex(digest);
    if (early) {
      const converted = await early;
      if (!index) writeJsonAtomic(indexFileOf(digest), converted);
      index ??= converted;
    } else if (!index) {
      index = await convert(open);
      writeJsonAtomic(indexFileOf(digest), index);
    }
    if (index.warnings.length > 0 && ctx.warn) {
      const shown = index.warnings.slice(0, 5).join('; ');
      const more = index.warnings.length > 5 ? ` (and ${index.warnings.length - 5} more)` : '';
      ctx.warn(warning('source/tarball-normalized', `${spec.location}: ${shown}${more}`, loc));
    }
    const image = appendLayer(emptyImage(), index.layer, { created_by: `FROM tarball ${label} ${digest}` });
    return { image, digest: index.layer.diffId };
  },
};
