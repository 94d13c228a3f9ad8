/**
 * `--output type=registry,name=REF` (and `--push` with `-t`): the image pushed over the distribution
 * API, its layers gzip-compressed like the OCI output's (the same cached variants), the manifest last.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite } from '../cache/store.js';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { BlobStore } from '../image/blobstore.js';
import { configDescriptor, type Image } from '../image/image.js';
import { type ClientOptions, RegistryClient, RegistryError } from '../registry/client.js';
import { lookupCredentials } from '../registry/credentials.js';
import { type PushEvent, type PushResult, pushImage } from '../registry/push.js';
import { InvalidReferenceError, parseRegistryRef } from '../registry/reference.js';
import { ociImage } from './oci.js';

export interface PushToOptions {
  epoch: number;
  registry?: ClientOptions;
  onBlob?: (e: PushEvent) => void;
}

/** Pushes `image` as `ref` (a tag, or a digest-only push when the ref has none). */
export async function pushTo(
  store: BlobStore,
  image: Image,
  ref: string,
  opts: PushToOptions,
): Promise<PushResult> {
  let client: RegistryClient | undefined;
  try {
    const parsed = parseRegistryRef(ref);
    client = new RegistryClient(parsed, { credentials: (r) => lookupCredentials(r), ...opts.registry });
    const compressed = await ociImage(store, image, { compression: 'gzip', epoch: opts.epoch });
    const known = new KnownBlobs(store.dir);
    const result = await pushImage(client, store, compressed, {
      tags: parsed.digest ? [] : [parsed.tag ?? 'latest'],
      mountFrom: (digest) => known.repositories(parsed.registry, digest),
      ...(opts.onBlob ? { onBlob: opts.onBlob } : {}),
    });
    known.add(parsed.registry, parsed.repository, [
      ...compressed.layers.map((l) => l.digest),
      configDescriptor(compressed).digest,
    ]);
    known.save();
    return result;
  } catch (err) {
    if (err instanceof RegistryError || err instanceof InvalidReferenceError) {
      throw new DiagnosticError(error('push/failed', `cannot push ${ref}: ${err.message}`));
    }
    throw err;
  } finally {
    client?.close();
  }
}

/**
 * Which repositories of which registry rootc pushed each blob to, so a push to another repository of the
 * same registry can ask for a cross-repository mount instead of uploading the bytes again.
 */
class KnownBlobs {
  private readonly file: string;
  private data: Record<string, Record<string, string[]>> = {};

  constructor(cacheDir: string) {
    this.file = path.join(cacheDir, 'registry-blobs.json');
    try {
      this.data = JSON.parse(readFileSync(this.file, 'utf8')) as typeof this.data;
    } catch {
      this.data = {};
    }
  }

  repositories(registry: string, digest: string): string[] {
    return this.data[registry]?.[digest] ?? [];
  }

  add(registry: string, repository: string, digests: string[]): void {
    this.data[registry] ??= {};
    const byDigest = this.data[registry];
    for (const d of digests) {
      byDigest[d] ??= [];
      const repos = byDigest[d];
      if (!repos.includes(repository)) repos.push(repository);
      if (repos.length > 8) repos.shift();
    }
  }

  save(): void {
    atomicWrite(this.file, JSON.stringify(this.data));
  }
}
