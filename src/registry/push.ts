/**
 * Pushing an image over the distribution API (go-containerregistry's remote.Write): every blob the
 * registry lacks is uploaded (HEAD first; a cross-repository mount when the blob is known in another
 * repository of the same registry; one PUT for small blobs, PATCH chunks for large ones), the config,
 * and the manifest last, so a push that fails half-way never leaves a tag on a partial image.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { BlobStore } from '../image/blobstore.js';
import { configBytes, configDescriptor, type Image, manifestBytes } from '../image/image.js';
import { MEDIA_TYPES } from '../image/layer.js';
import { type RegistryClient, RegistryError } from './client.js';

export interface PushEvent {
  digest: string;
  size: number;
  /** exists: the registry had it; mounted: linked from another repository; uploaded: sent. */
  action: 'exists' | 'mounted' | 'uploaded';
}

export interface PushOptions {
  /** Tags (or none: pushed by digest only). */
  tags: string[];
  /** Repositories of the same registry that hold some of these blobs (mount sources). */
  mountFrom?: (digest: string) => string[];
  /** Blobs larger than this go in PATCH chunks of this size (default 32 MiB). */
  chunkSize?: number;
  onBlob?: (e: PushEvent) => void;
}

export interface PushResult {
  /** Digest of the manifest pushed. */
  digest: string;
  uploaded: number;
  skipped: number;
}

export async function pushImage(
  client: RegistryClient,
  store: BlobStore,
  image: Image,
  opts: PushOptions,
): Promise<PushResult> {
  let uploaded = 0;
  let skipped = 0;
  const config = configBytes(image);
  const configDesc = configDescriptor(image);
  const blobs: { digest: string; size: number; open: () => Readable }[] = [
    ...image.layers.map((l) => ({ digest: l.digest, size: l.size, open: () => store.open(l.digest) })),
    { digest: configDesc.digest, size: config.length, open: () => Readable.from([config]) },
  ];
  for (const blob of blobs) {
    const action = await pushBlob(client, blob, opts);
    if (action === 'uploaded') uploaded++;
    else skipped++;
    opts.onBlob?.({ digest: blob.digest, size: blob.size, action });
  }
  const manifest = manifestBytes(image);
  const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const references = opts.tags.length > 0 ? opts.tags : [manifestDigest];
  for (const reference of references) {
    const res = await client.request('PUT', client.path(`manifests/${reference}`), {
      headers: { 'content-type': MEDIA_TYPES.manifest },
      body: () => manifest,
      expect: [201, 200],
      actions: 'pull,push',
    });
    res.resume();
    const returned = res.headers['docker-content-digest'];
    if (typeof returned === 'string' && returned !== manifestDigest) {
      throw new RegistryError(`the registry stored the manifest as ${returned}, not ${manifestDigest}`);
    }
  }
  return { digest: manifestDigest, uploaded, skipped };
}

async function pushBlob(
  client: RegistryClient,
  blob: { digest: string; size: number; open: () => Readable },
  opts: PushOptions,
): Promise<PushEvent['action']> {
  const head = await client.request('HEAD', client.path(`blobs/${blob.digest}`), {
    expect: [200, 404],
    actions: 'pull,push',
  });
  head.resume();
  if (head.statusCode === 200) return 'exists';

  for (const from of opts.mountFrom?.(blob.digest) ?? []) {
    if (from === client.ref.repository) continue;
    const res = await client.request(
      'POST',
      client.path(`blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from)}`),
      { expect: [201, 202], actions: 'pull,push', retry: false },
    );
    res.resume();
    if (res.statusCode === 201) return 'mounted';
    // 202: the registry started an ordinary upload instead; cancel it and upload below.
    const location = uploadLocation(client, res);
    await client
      .request('DELETE', location, { url: location, expect: [204, 404, 200], actions: 'pull,push' })
      .then(
        (r) => r.resume(),
        () => undefined,
      );
  }

  const start = await client.request('POST', client.path('blobs/uploads/'), {
    expect: [202],
    actions: 'pull,push',
  });
  start.resume();
  let location = uploadLocation(client, start);
  const chunkSize = opts.chunkSize ?? 32 * 1024 * 1024;
  if (blob.size > chunkSize) {
    // Chunked: PATCH with Content-Range, each chunk read from the blob at its offset.
    for (let offset = 0; offset < blob.size; offset += chunkSize) {
      const end = Math.min(blob.size, offset + chunkSize) - 1;
      const res = await client.request('PATCH', location, {
        url: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${end}`,
          'content-length': String(end - offset + 1),
        },
        body: () => sliceStream(blob.open(), offset, end),
        expect: [202],
        actions: 'pull,push',
        retry: false,
      });
      res.resume();
      location = uploadLocation(client, res);
    }
    const done = await client.request('PUT', withDigest(location, blob.digest), {
      url: withDigest(location, blob.digest),
      headers: { 'content-length': '0' },
      body: () => Buffer.alloc(0),
      expect: [201],
      actions: 'pull,push',
      retry: false,
    });
    done.resume();
  } else {
    const done = await client.request('PUT', withDigest(location, blob.digest), {
      url: withDigest(location, blob.digest),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      body: blob.open,
      expect: [201],
      actions: 'pull,push',
      retry: false,
    });
    done.resume();
  }
  return 'uploaded';
}

function uploadLocation(client: RegistryClient, res: IncomingMessage): string {
  const location = res.headers.location;
  if (!location) throw new RegistryError(`${client.ref.apiHost}: upload started without a Location`);
  return client.resolveUrl(location);
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/** Bytes [start, end] of a stream. */
async function* sliceGen(src: Readable, start: number, end: number): AsyncGenerator<Buffer> {
  let pos = 0;
  for await (const chunk of src) {
    const buf = chunk as Buffer;
    const from = Math.max(0, start - pos);
    const to = Math.min(buf.length, end + 1 - pos);
    if (to > from) yield buf.subarray(from, to);
    pos += buf.length;
    if (pos > end) break;
  }
  src.destroy();
}

function sliceStream(src: Readable, start: number, end: number): Readable {
  return Readable.from(sliceGen(src, start, end));
}
