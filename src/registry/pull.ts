/**
 * Pulling an image (go-containerregistry's remote.Image): the manifest by tag or digest, an index or
 * Docker manifest list resolved to the build's platform, OCI and Docker schema 2 manifests, the config
 * and every layer streamed into the blob store and verified against its digest. A dropped connection
 * resumes with a Range request from the bytes already received. Layers are kept as the registry serves
 * them (never recompressed).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { BlobStore } from '../image/blobstore.js';
import type { ImageConfig } from '../image/config.js';
import type { Image } from '../image/image.js';
import type { Layer } from '../image/layer.js';
import { type RegistryClient, RegistryError, readBody } from './client.js';
import { manifestReference } from './reference.js';

export const MANIFEST_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

const ACCEPT = Object.values(MANIFEST_TYPES).join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

interface Manifest {
  mediaType?: string;
  schemaVersion?: number;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
  annotations?: Record<string, string>;
}

export interface PullResult {
  image: Image;
  /** Digest of the (platform) manifest: what identifies the base for cache keys. */
  digest: string;
}

async function fetchManifest(
  client: RegistryClient,
  reference: string,
): Promise<{ manifest: Manifest; digest: string; mediaType: string }> {
  const res = await client.request('GET', client.path(`manifests/${reference}`), {
    headers: { accept: ACCEPT },
    expect: [200],
  });
  const text = await readBody(res, 4 << 20);
  const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
  if (reference.startsWith('sha256:') && reference !== digest) {
    throw new RegistryError(`manifest ${reference} of ${client.ref.full}: content digest is ${digest}`);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch {
    throw new RegistryError(`manifest of ${client.ref.full} is not JSON`);
  }
  const mediaType =
    manifest.mediaType ??
    String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
  return { manifest, digest, mediaType };
}

export async function pullImage(
  client: RegistryClient,
  store: BlobStore,
  platform: Platform,
): Promise<PullResult> {
  let { manifest, digest, mediaType } = await fetchManifest(client, manifestReference(client.ref));
  if (
    mediaType === MANIFEST_TYPES.ociIndex ||
    mediaType === MANIFEST_TYPES.dockerList ||
    manifest.manifests
  ) {
    const match = (manifest.manifests ?? []).find(
      (m) =>
        m.platform?.os === platform.os &&
        m.platform?.architecture === platform.architecture &&
        (!platform.variant || !m.platform.variant || m.platform.variant === platform.variant),
    );
    if (!match) {
      const have = (manifest.manifests ?? []).map(
        (m) =>
          `${m.platform?.os}/${m.platform?.architecture}${m.platform?.variant ? `/${m.platform.variant}` : ''}`,
      );
      throw new RegistryError(
        `${client.ref.full} has no image for ${platform.os}/${platform.architecture} (it has ${have.join(', ') || 'none'})`,
      );
    }
    ({ manifest, digest, mediaType } = await fetchManifest(client, match.digest));
  }
  if (
    mediaType !== MANIFEST_TYPES.ociManifest &&
    mediaType !== MANIFEST_TYPES.dockerManifest &&
    !manifest.config
  ) {
    throw new RegistryError(
      `${client.ref.full}: unsupported manifest type ${mediaType || '(none)'} (schema 1 images are not supported)`,
    );
  }
  if (!manifest.config) throw new RegistryError(`${client.ref.full}: manifest without a config`);
  await fetchBlob(client, store, manifest.config);
  const config = JSON.parse(await readBody(store.open(manifest.config.digest), 16 << 20)) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layerDescs = manifest.layers ?? [];
  if (diffIds.length !== layerDescs.length) {
    throw new RegistryError(
      `${client.ref.full}: ${layerDescs.length} layers but ${diffIds.length} diff_ids in its config`,
    );
  }
  const layers: Layer[] = [];
  for (const [i, desc] of layerDescs.entries()) {
    await fetchBlob(client, store, desc);
    layers.push({ digest: desc.digest, diffId: diffIds[i]!, size: desc.size, mediaType: desc.mediaType });
  }
  config.config ??= {};
  config.history ??= [];
  return { image: { config, layers, annotations: {} }, digest };
}

/** Streams a blob into the store (unless it is there), verifying its digest; resumes after a dropped connection. */
async function fetchBlob(client: RegistryClient, store: BlobStore, desc: Descriptor): Promise<void> {
  if (store.has(desc.digest)) return;
  const writer = store.writer();
  let received = 0;
  let attempts = 0;
  try {
    while (received < desc.size || (received === 0 && desc.size === 0)) {
      try {
        const res = await client.request('GET', client.path(`blobs/${desc.digest}`), {
          headers: received > 0 ? { range: `bytes=${received}-` } : {},
          expect: received > 0 ? [206] : [200],
        });
        for await (const chunk of res) {
          const buf = chunk as Buffer;
          received += buf.length;
          if (received > desc.size)
            throw new RegistryError(`blob ${desc.digest} is larger than its ${desc.size} bytes`);
          if (!writer.write(buf)) await once(writer, 'drain');
        }
        if (desc.size === 0) break;
        if (received < desc.size)
          throw Object.assign(new Error('connection closed early'), { code: 'ECONNRESET' });
      } catch (err) {
        if (err instanceof RegistryError || ++attempts > 5) throw err;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempts));
      }
    }
    writer.end();
    await once(writer, 'finish');
    writer.commit(desc.digest);
  } catch (err) {
    writer.destroy(err as Error);
    throw err;
  }
}
