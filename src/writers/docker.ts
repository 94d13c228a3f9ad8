import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { BlobStore } from '../image/blobstore.js';
import { configDescriptor, type Image, manifestDescriptor } from '../image/image.js';
import { tarChunks } from '../tar/writer.js';
import { writeFileAtomic } from './atomic.js';
import { layout, layoutArchiveEntries } from './oci.js';

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
  const manifestDesc = manifestDescriptor(image);
  const manifests =
    tags.length === 0
      ? [manifestDesc]
      : tags.map((t) => ({
          ...manifestDesc,
          annotations: {
            'io.containerd.image.name': t.fullName,
            'org.opencontainers.image.ref.name': t.tag,
          },
        }));
  const l = layout(store, image, manifests);
  const hex = (d: string) => d.slice('sha256:'.length);
  const dockerManifest = [
    {
      Config: `blobs/sha256/${hex(configDescriptor(image).digest)}`,
      RepoTags: tags.map((t) => t.repoTag),
      Layers: image.layers.map((layer) => `blobs/sha256/${hex(layer.digest)}`),
    },
  ];
  const extra = [{ path: 'manifest.json', bytes: Buffer.from(JSON.stringify(dockerManifest)) }];
  return writeFileAtomic(dest, tarChunks(layoutArchiveEntries(store, l, extra)));
}
