import { cleanImagePath } from '../fsutil/securejoin.js';
import { OPAQUE_WHITEOUT, type TarEntrySpec, WHITEOUT_PREFIX } from '../tar/entry.js';
import { memberToSpec, readTar } from '../tar/reader.js';
import { compareBytes } from '../tar/tree.js';
import type { BlobStore } from './blobstore.js';
import type { Image } from './image.js';
import { openLayerTar } from './layer.js';

/**
 * The final tree of an image as one stream of entries, made from its layers without unpacking them: device
 * nodes recorded in a layer (which an unprivileged build could not create on disk) reach the output, and no
 * snapshot is needed.
 *
 * Two passes over the layers, like go-containerregistry's `mutate.Extract` but without holding any content:
 * 1. headers only, top layer first: an entry survives unless a higher layer has the same path, whites it out
 *    (`.wh.name`), makes its parent opaque (`.wh..wh..opq`) or puts a non-directory at one of its ancestors.
 *    Within one layer the last entry of a path wins.
 * 2. the layers again, bottom first, yielding the survivors in their layer's order (so every hardlink comes
 *    after its target and a lower layer's directory before a higher layer's files in it).
 *
 * A hardlink whose target was replaced by a higher layer (overlayfs copies up one name of a linked pair)
 * becomes a regular file with the content the target had at that layer: it is emitted at the target's old
 * position, streaming that content, and further links to it point to it.
 */
export interface FlattenOptions {
  /** Called for each entry dropped as meaningless (e.g. a whiteout of `..`). */
  onWarning?: (message: string) => void;
  /** Only these paths (e.g. `etc/passwd`): layers holding none of them are not read again. */
  only?: (path: string) => boolean;
}

/** Survivors of pass 1: per layer, entry ordinal → what to emit. */
type Plan = Map<number, Emit>[];
type Emit =
  | { kind: 'keep'; path: string }
  | { kind: 'skip-promoted' }
  /** Emit the first path as a file with this entry's content, the others as hardlinks to it. */
  | { kind: 'promote'; paths: string[] };

interface Seen {
  ordinal: number;
  type: TarEntrySpec['type'];
}

function clean(p: string): string {
  return cleanImagePath(p).slice(1);
}

function ancestors(p: string): string[] {
  const out: string[] = [];
  let i = p.indexOf('/');
  while (i >= 0) {
    out.push(p.slice(0, i));
    i = p.indexOf('/', i + 1);
  }
  return out;
}

interface Promotion {
  /** The hardlink entry (layer, ordinal) and its path. */
  layer: number;
  ordinal: number;
  path: string;
  /** The entry it linked to when its layer was applied. */
  targetLayer: number;
  targetOrdinal: number;
}

async function plan(store: BlobStore, image: Image, options: FlattenOptions): Promise<Plan> {
  const warn = options.onWarning ?? (() => {});
  const layers = image.layers;
  const result: Plan = layers.map(() => new Map());
  /** Paths decided by a higher layer (present or whited out). */
  const decided = new Set<string>();
  /** Paths below which lower layers are hidden (whiteout, opaque dir, non-directory). */
  const hidden = new Set<string>();
  let hideAll = false;
  /** Hardlinks of higher layers whose target was not in their own layer: target path → links. */
  let pending = new Map<string, { layer: number; ordinal: number; path: string }[]>();
  const promotions: Promotion[] = [];
  const isHidden = (p: string): boolean => {
    if (hideAll || decided.has(p)) return true;
    for (const a of ancestors(p)) if (hidden.has(a)) return true;
    return false;
  };

  for (let li = layers.length - 1; li >= 0; li--) {
    const entries = new Map<string, Seen>();
    const whiteouts: string[] = [];
    const opaques: string[] = [];
    const links: { ordinal: number; path: string; target: string; targetOrdinal: number | undefined }[] = [];
    let ordinal = -1;
    for await (const m of readTar((await openLayerTar(store, layers[li]!)) as AsyncIterable<Buffer>)) {
      ordinal++;
      const p = clean(m.header.name);
      if (p === '') continue;
      const slash = p.lastIndexOf('/');
      const base = p.slice(slash + 1);
      const dir = slash < 0 ? '' : p.slice(0, slash);
      if (base.startsWith(WHITEOUT_PREFIX)) {
        if (base === OPAQUE_WHITEOUT) opaques.push(dir);
        else {
          const victim = base.slice(WHITEOUT_PREFIX.length);
          if (victim === '' || victim === '.' || victim === '..')
            warn(`${p}: whiteout of "${victim}" ignored`);
          else whiteouts.push(dir ? `${dir}/${victim}` : victim);
        }
        continue;
      }
      const type = m.header.type;
      if (type === 'hardlink') {
        const target = clean(m.header.linkname);
        links.push({ ordinal, path: p, target, targetOrdinal: entries.get(target)?.ordinal });
      }
      entries.set(p, { ordinal, type });
    }

    // Targets asked for by higher layers' hardlinks: the last entry of that path in this layer.
    const stillPending = new Map<string, { layer: number; ordinal: number; path: string }[]>();
    for (const [target, askers] of pending) {
      const e = entries.get(target);
      if (!e) stillPending.set(target, askers);
      else for (const a of askers) promotions.push({ ...a, targetLayer: li, targetOrdinal: e.ordinal });
    }
    pending = stillPending;

    for (const [p, e] of entries) if (!isHidden(p)) result[li]!.set(e.ordinal, { kind: 'keep', path: p });
    for (const l of links) {
      if (result[li]!.get(l.ordinal)?.kind !== 'keep') continue;
      if (l.targetOrdinal !== undefined) {
        promotions.push({
          layer: li,
          ordinal: l.ordinal,
          path: l.path,
          targetLayer: li,
          targetOrdinal: l.targetOrdinal,
        });
      } else {
        const list = pending.get(l.target) ?? [];
        list.push({ layer: li, ordinal: l.ordinal, path: l.path });
        pending.set(l.target, list);
      }
    }

    for (const [p, e] of entries) {
      decided.add(p);
      if (e.type !== 'directory') hidden.add(p);
    }
    for (const w of whiteouts) {
      decided.add(w);
      hidden.add(w);
    }
    for (const o of opaques) {
      if (o === '') hideAll = true;
      else hidden.add(o);
    }
  }

  // Links to a path no lower layer has cannot be made by any extractor: dropped, with a warning.
  for (const [target, askers] of pending) {
    for (const a of askers) {
      warn(`${a.path}: hardlink to ${target}, which no layer below has; entry dropped`);
      result[a.layer]!.set(a.ordinal, { kind: 'skip-promoted' });
    }
  }

  // A link whose target entry is not in the output takes over that entry's content (see above).
  for (const pr of promotions) {
    const target = result[pr.targetLayer]!.get(pr.targetOrdinal);
    if (target?.kind === 'keep') continue;
    result[pr.layer]!.set(pr.ordinal, { kind: 'skip-promoted' });
    if (target?.kind === 'promote') target.paths.push(pr.path);
    else result[pr.targetLayer]!.set(pr.targetOrdinal, { kind: 'promote', paths: [pr.path] });
  }
  for (const layer of result)
    for (const e of layer.values()) if (e.kind === 'promote') e.paths.sort(compareBytes);
  return result;
}

/**
 * Streams the image's final tree as entries (paths relative, no leading `/`), layer by layer. File contents
 * are read from the layers while the consumer writes them; nothing is buffered.
 */
export async function* flattenLayers(
  store: BlobStore,
  image: Image,
  options: FlattenOptions = {},
): AsyncGenerator<TarEntrySpec> {
  const survivors = await plan(store, image, options);
  const only = options.only;
  if (only) {
    for (const layer of survivors)
      for (const [ordinal, e] of layer) {
        const wanted = e.kind === 'keep' ? only(e.path) : e.kind === 'promote' && e.paths.some(only);
        if (!wanted) layer.delete(ordinal);
      }
  }
  for (let li = 0; li < image.layers.length; li++) {
    const keep = survivors[li]!;
    if (keep.size === 0) continue;
    let ordinal = -1;
    for await (const m of readTar((await openLayerTar(store, image.layers[li]!)) as AsyncIterable<Buffer>)) {
      ordinal++;
      const what = keep.get(ordinal);
      if (!what || what.kind === 'skip-promoted') continue;
      const spec = memberToSpec(m);
      spec.path = clean(spec.path);
      if (spec.type === 'hardlink') spec.linkname = clean(spec.linkname ?? '');
      if (what.kind === 'keep') {
        yield spec;
        continue;
      }
      // promote: only regular files carry content to take over; other kinds are copied as they are.
      const [first, ...rest] = what.paths as [string, ...string[]];
      if (spec.type === 'hardlink') {
        for (const p of what.paths) yield { ...spec, path: p };
        continue;
      }
      yield { ...spec, path: first };
      for (const p of rest)
        yield spec.type === 'file'
          ? {
              path: p,
              type: 'hardlink',
              linkname: first,
              mode: spec.mode,
              uid: spec.uid,
              gid: spec.gid,
              mtime: spec.mtime,
            }
          : { ...spec, path: p };
    }
  }
}
