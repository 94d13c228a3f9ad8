/**
 * What the image-based sources (docker-archive, oci) share: picking one image by tag, and a stat-keyed index so
 * an unchanged archive or layout is not copied into the store again on every build.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Image } from '../image/image.js';
import { normalizeTag } from '../writers/docker.js';
import { fail, readJson, writeJsonAtomic } from './common.js';
import type { SourceContext } from './source.js';

export interface Candidate<T> {
  /** Names as the archive lists them (`RepoTags`, `ref.name`, `io.containerd.image.name`). */
  tags: string[];
  value: T;
}

function fullName(ref: string): string | undefined {
  try {
    return normalizeTag(ref).fullName;
  } catch {
    return undefined;
  }
}

/**
 * `:tag` picks the image whose name matches (as written, as a normalized reference — `app` means
 * `docker.io/library/app:latest` — or, for a bare word, as the tag part alone); without one, the only image.
 * Anything else is an error listing what is there.
 */
export function pickImage<T>(
  candidates: Candidate<T>[],
  reference: string | undefined,
  what: string,
  ctx: SourceContext,
): T {
  const listed = () => {
    const tags = [...new Set(candidates.flatMap((c) => c.tags))];
    return tags.length > 0 ? tags.join(', ') : 'none';
  };
  if (candidates.length === 0) throw fail('source/no-image', `${what} holds no image`, ctx.location);
  if (reference === undefined) {
    if (candidates.length === 1) return candidates[0]!.value;
    throw fail(
      'source/ambiguous-image',
      `${what} holds ${candidates.length} images: name one with ${what}:<tag> (tags: ${listed()})`,
      ctx.location,
    );
  }
  const exact = candidates.filter((c) => c.tags.includes(reference));
  if (exact.length === 1) return exact[0]!.value;
  const want = fullName(reference);
  const byName = want ? candidates.filter((c) => c.tags.some((t) => fullName(t) === want)) : [];
  if (byName.length === 1) return byName[0]!.value;
  if (!reference.includes(':') && !reference.includes('/')) {
    const byTag = candidates.filter((c) =>
      c.tags.some((t) => {
        const slash = t.lastIndexOf('/');
        const colon = t.lastIndexOf(':');
        return colon > slash && t.slice(colon + 1) === reference;
      }),
    );
    if (byTag.length === 1) return byTag[0]!.value;
  }
  throw fail(
    'source/unknown-tag',
    `${what} has no image tagged "${reference}" (tags: ${listed()})`,
    ctx.location,
  );
}

interface StatIndex {
  version: number;
  stat: string;
  image: Image;
}

const INDEX_VERSION = 1;

/** A key for "this file or directory, unchanged": path, inode, size, mtime (ns), plus what was asked of it. */
export function statKey(file: string, extra: string, member?: string): string {
  const st = statSync(member ? path.join(file, member) : file, { bigint: true });
  return `${path.resolve(file)}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${extra}`;
}

/** The image made from this input last time, when the input is unchanged and its blobs are still stored. */
export function cachedImage(ctx: SourceContext, kind: string, key: string): Image | undefined {
  const file = indexPath(ctx, kind, key);
  const index = readJson<StatIndex>(file);
  if (!index || index.version !== INDEX_VERSION || index.stat !== key) return undefined;
  if (!index.image.layers.every((l) => ctx.store.has(l.digest))) return undefined;
  return index.image;
}

export function rememberImage(ctx: SourceContext, kind: string, key: string, image: Image): void {
  writeJsonAtomic(indexPath(ctx, kind, key), { version: INDEX_VERSION, stat: key, image });
}

function indexPath(ctx: SourceContext, kind: string, key: string): string {
  return path.join(ctx.cacheDir, 'sources', kind, `${createHash('sha256').update(key).digest('hex')}.json`);
}
