import { Readable } from 'node:stream';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { BlobStore } from '../image/blobstore.js';
import { canonicalJson } from '../image/canonical.js';
import {
  configBytes,
  configDescriptor,
  type Image,
  manifestBytes,
  manifestDescriptor,
} from '../image/image.js';
import { MEDIA_TYPES } from '../image/layer.js';
import type { TarEntrySpec } from '../tar/entry.js';
import { tarChunks } from '../tar/writer.js';
import { writeFileAtomic } from './atomic.js';

export interface DockerArchiveOptions {
  /** `-t` values (`name`, `name:tag`, `registry:5000/name:tag`); a missing tag means `latest`. */
  tags?: string[];
}

/** Splits and normalizes a Docker reference the way `docker load` will read it. */
export function normalizeTag(ref: string): { repoTag: string; fullName: string; tag: string } {
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  let name = ref;
  let tag = 'latest';
  if (colon > slash) {
    name = ref.slice(0, colon);
    tag = ref.slice(colon + 1);
  }
  if (
    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(
      name,
    ) ||
    !/^[\w][\w.-]{0,127}$/.test(tag)
  ) {
    throw new DiagnosticError(
      error('writers/invalid-tag', `invalid image name "${ref}": expected name[:tag] in lower case`),
    );
  }
  const first = name.split('/')[0]!;
  const hasRegistry =
    name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  let fullName = hasRegistry ? name : `docker.io/${name}`;
  if (!hasRegistry && !name.includes('/')) fullName = `docker.io/library/${name}`;
  return { repoTag: `${name}:${tag}`, fullName: `${fullName}:${tag}`, tag };
}

/**
 * `--output type=docker`: an archive for `docker load` in the layout Docker 25+ `docker save` writes: an OCI
 * image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) plus `manifest.json` (Config, RepoTags, Layers
 * pointing into `blobs/`), which is all dockerd 20.10 reads (it decompresses gzip layers itself). Entries are
 * sorted, owned by 0:0 with mtime 0; layer blobs are streamed from the store, never buffered; the file appears
 * under its name only when complete.
 */
export async function writeDockerArchive(
  store: BlobStore,
  image: Image,
  dest: string,
  options: DockerArchiveOptions = {},
): Promise<number> {
  const tags = (options.tags ?? []).map(normalizeTag);
  const config = configBytes(image);
  const configDesc = configDescriptor(image);
  const manifest = manifestBytes(image);
  const manifestDesc = manifestDescriptor(image);
  const hex = (d: string) => d.slice('sha256:'.length);
  const blobPath = (d: string) => `blobs/sha256/${hex(d)}`;

  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests:
      tags.length === 0
        ? [manifestDesc]
        : tags.map((t) => ({
            ...manifestDesc,
            annotations: {
              'io.containerd.image.name': t.fullName,
              'org.opencontainers.image.ref.name': t.tag,
            },
          })),
  };
  const dockerManifest = [
    {
      Config: blobPath(configDesc.digest),
      RepoTags: tags.map((t) => t.repoTag),
      Layers: image.layers.map((l) => blobPath(l.digest)),
    },
  ];

  type Blob = { path: string; bytes?: Buffer; digest?: string; size: number };
  const blobs = new Map<string, Blob>();
  blobs.set(configDesc.digest, { path: blobPath(configDesc.digest), bytes: config, size: config.length });
  blobs.set(manifestDesc.digest, {
    path: blobPath(manifestDesc.digest),
    bytes: manifest,
    size: manifest.length,
  });
  for (const layer of image.layers) {
    const st = store.stat(layer.digest);
    if (!st)
      throw new DiagnosticError(
        error('writers/missing-layer', `layer ${layer.digest} is not in the blob store`),
      );
    if (st.size !== layer.size) {
      throw new DiagnosticError(
        error('writers/layer-size', `layer ${layer.digest}: ${st.size} bytes stored, ${layer.size} expected`),
      );
    }
    blobs.set(layer.digest, { path: blobPath(layer.digest), digest: layer.digest, size: st.size });
  }

  const file = (p: string, bytes: Buffer): TarEntrySpec => ({
    path: p,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: bytes.length,
    open: () => Readable.from([bytes]),
  });
  const dir = (p: string): TarEntrySpec => ({
    path: p,
    type: 'directory',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
  });

  function* entries(): Generator<TarEntrySpec> {
    yield dir('blobs');
    yield dir('blobs/sha256');
    for (const b of [...blobs.values()].sort((x, y) => (x.path < y.path ? -1 : 1))) {
      if (b.bytes) yield file(b.path, b.bytes);
      else {
        const digest = b.digest!;
        yield { ...file(b.path, Buffer.alloc(0)), size: b.size, open: () => store.open(digest) };
      }
    }
    yield file('index.json', Buffer.from(canonicalJson(index)));
    yield file('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
    yield file('oci-layout', Buffer.from(canonicalJson({ imageLayoutVersion: '1.0.0' })));
  }
  return writeFileAtomic(dest, tarChunks(entries()));
}
