import type { Diagnostic, SourceLocation } from '../diagnostics/diagnostic.js';
import type { BlobStore } from '../image/blobstore.js';
import type { Image } from '../image/image.js';
import { type LayerCompression, layerCompression, openLayerTar } from '../image/layer.js';
import type { ClientOptions } from '../registry/client.js';
import { type ExtractOptions, type ExtractReport, extractTar } from '../tar/extract.js';
import { extractIntoEmpty } from '../tar/extract-gnu.js';
import type { TarTap } from '../tar/writer.js';

/** What every `FROM` kind gets: where blobs and downloads go, and where to report. */
export interface SourceContext {
  store: BlobStore;
  /** `$XDG_CACHE_HOME/rootc` (downloads, per-source indexes). */
  cacheDir: string;
  /** Directory relative paths in the spec are resolved against (the build context). */
  baseDir?: string;
  /** The FROM line, for diagnostics. */
  location?: SourceLocation;
  /** Compression of layers a source makes itself (default gzip). Existing layers are never rewritten. */
  compression?: LayerCompression;
  /** Non-fatal findings (devices that could not be made, entries dropped), for the build's output. */
  warn?: (d: Diagnostic) => void;
  /**
   * `sha256:<hex>` of a local file; the build passes one that remembers digests by stat identity across
   * builds, so an unchanged 200 MB base tarball is not read again on every rebuild, and hashes a big
   * file on a worker thread (the tarball source converts the file meanwhile).
   */
  digestFile?: (file: string) => Promise<string>;
  /** The digest `digestFile` remembers for `file` (unchanged since), without reading it; undefined if none. */
  knownDigest?: (file: string) => string | undefined;
  /**
   * A sink for the bottom layer a source makes itself (a converted tarball), asked for as the source starts
   * writing it: the build extracts the base's tree from it meanwhile. May give none; ask once per layer.
   */
  bottomLayerTap?: () => TarTap | undefined;
  /** Registry access (extra CAs, insecure hosts) for sources that pull. */
  registry?: ClientOptions;
  /**
   * SOURCE_DATE_EPOCH of the build (0 when unset). A source that makes a tree by running programs
   * (debootstrap) gives it to them and keys its cache by it: their generated dates follow it.
   */
  epoch?: number;
  /** The platform the build targets (images with several pick this one). */
  platform?: { os: string; architecture: string; variant?: string };
}

export interface ResolvedSource {
  /** Base layers (in the store) and the inherited config. */
  image: Image;
  /** Identifies the base's content, for cache keys (e.g. the diff_id of a tarball's layer). */
  digest: string;
}

/**
 * One module per `FROM` kind (scratch, tarball, stage3, debootstrap, docker-archive, oci, aci, registry) implements
 * this; the interpreter keeps a table from kind to Source, as go-containerregistry keeps one package per source.
 * The tree for the next steps comes from `materialize` when a source has a faster way than extracting its
 * layers (debootstrap already has a tree), else from `materializeImage`.
 */
export interface Source<Spec> {
  readonly kind: string;
  resolve(spec: Spec, ctx: SourceContext): Promise<ResolvedSource>;
  materialize?(resolved: ResolvedSource, dir: string, ctx: SourceContext): Promise<ExtractReport>;
}

/** Builds the working tree of an image: each layer extracted in order, whiteouts applied. */
export async function materializeImage(
  store: BlobStore,
  image: Image,
  dir: string,
  options: Omit<ExtractOptions, 'whiteouts'> = {},
): Promise<ExtractReport> {
  const total: ExtractReport = { entries: 0, bytes: 0, skippedNodes: [], skippedXattrs: [], warnings: [] };
  for (const [i, layer] of image.layers.entries()) {
    // The bottom layer lands in an empty directory: GNU tar does that much faster (see extract-gnu.ts).
    const r =
      i === 0
        ? await extractIntoEmpty(() => openLayerTar(store, layer), dir, {
            ...options,
            ...(layerCompression(layer) === 'none' ? { file: store.path(layer.digest) } : {}),
          })
        : await extractTar(await openLayerTar(store, layer), dir, { ...options, whiteouts: 'apply' });
    total.entries += r.entries;
    total.bytes += r.bytes;
    total.skippedNodes.push(...r.skippedNodes);
    total.skippedXattrs.push(...r.skippedXattrs);
    total.warnings.push(...r.warnings);
  }
  return total;
}
