/**
 * The oci and oci-archive writers against the real tools: umoci unpacks the layout to the tree that went in,
 * skopeo inspects it and copies it to a docker-archive that a real dockerd loads and runs. Also: layer
 * compression (gzip, zstd, none), the cached compressed variants, base layers kept as they are, annotations,
 * and byte-for-byte reproducibility.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/image/blobstore.js';
import {
  appendLayer,
  emptyImage,
  type Image,
  withAnnotations,
  withContainerConfig,
  withImageFields,
} from '../../src/image/image.js';
import { MEDIA_TYPES, storeLayer } from '../../src/image/layer.js';
import { walkTree } from '../../src/tar/tree.js';
import { ociImage, parseLayerCompression, writeOciArchive, writeOciLayout } from '../../src/writers/oci.js';
import {
  dockerLoad,
  dockerRun,
  requireTools,
  skopeo,
  skopeoInspect,
  tempDir,
  umociUnpack,
  uniqueRef,
} from '../support/index.js';

const EPOCH = 1_700_000_000;

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every file of a directory tree (relative path → sha256), for comparing two layouts. */
function treeDigests(root: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = lstatSync(path.join(root, p));
    if (st.isDirectory()) Object.assign(out, treeDigests(root, p));
    else out[p] = sha256(path.join(root, p));
  }
  return out;
}

/** A busybox tree in two layers: the second deletes a file of the first. */
async function makeImage(dir: string, store: BlobStore): Promise<Image> {
  const one = path.join(dir, 'one');
  mkdirSync(path.join(one, 'bin'), { recursive: true });
  mkdirSync(path.join(one, 'etc'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(one, 'bin/busybox'));
  for (const t of ['sh', 'echo', 'cat', 'stat', 'ls']) symlinkSync('busybox', path.join(one, 'bin', t));
  copyFileSync('/bin/busybox', path.join(one, 'bin/suid'));
  chmodSync(path.join(one, 'bin/suid'), 0o4755);
  writeFileSync(path.join(one, 'etc/doomed'), 'bye\n');
  writeFileSync(path.join(one, 'etc/motd'), 'hello from oci\n');
  const two = path.join(dir, 'two');
  mkdirSync(path.join(two, 'etc'), { recursive: true });
  writeFileSync(path.join(two, 'etc/.wh.doomed'), '');
  writeFileSync(path.join(two, 'etc/added'), 'added\n');
  let img = emptyImage();
  img = appendLayer(img, await storeLayer(store, walkTree(one), { clampMtime: EPOCH, compression: 'none' }), {
    created: EPOCH,
  });
  img = appendLayer(img, await storeLayer(store, walkTree(two), { clampMtime: EPOCH, compression: 'none' }), {
    created: EPOCH,
  });
  img = withImageFields(img, { created: EPOCH });
  img = withContainerConfig(img, {
    Cmd: ['/bin/cat', '/etc/motd'],
    Env: ['PATH=/bin'],
    WorkingDir: '/',
    Labels: { 'org.example.kind': 'oci-test' },
  });
  return withAnnotations(img, { 'org.opencontainers.image.title': 'oci test' });
}

describe('unit: oci options', () => {
  it('parses compression', () => {
    expect(parseLayerCompression(undefined)).toBe('gzip');
    expect(parseLayerCompression('zstd')).toBe('zstd');
    expect(parseLayerCompression('uncompressed')).toBe('none');
    expect(() => parseLayerCompression('xz')).toThrow(/expected gzip, zstd or none/);
  });
});

describe('oci layout and archive with umoci, skopeo and docker', () => {
  if (!requireTools('umoci', 'skopeo', 'docker', 'busybox', 'root')) return;
  let dir: string;
  let store: BlobStore;
  let img: Image;
  let layoutDir: string;
  let archive: string;

  beforeAll(async () => {
    dir = await tempDir('oci-writer');
    store = new BlobStore(path.join(dir, 'store'));
    img = await makeImage(dir, store);
    const oci = await ociImage(store, img, { epoch: EPOCH });
    layoutDir = path.join(dir, 'layout');
    archive = path.join(dir, 'image-oci.tar');
    await writeOciLayout(store, oci, layoutDir, ['example.com/oci-test:1.0']);
    await writeOciArchive(store, oci, archive, ['example.com/oci-test:1.0']);
  }, 120_000);

  it('writes the layout the image-spec describes', () => {
    expect(JSON.parse(readFileSync(path.join(layoutDir, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const index = JSON.parse(readFileSync(path.join(layoutDir, 'index.json'), 'utf8'));
    expect(index.mediaType).toBe(MEDIA_TYPES.index);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('1.0');
    const hex = index.manifests[0].digest.slice('sha256:'.length);
    const manifestFile = path.join(layoutDir, 'blobs/sha256', hex);
    expect(sha256(manifestFile)).toBe(hex);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      MEDIA_TYPES.layer.gzip,
      MEDIA_TYPES.layer.gzip,
    ]);
    expect(manifest.annotations).toEqual({
      'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
      'org.opencontainers.image.title': 'oci test',
    });
    for (const b of readdirSync(path.join(layoutDir, 'blobs/sha256')))
      expect(sha256(path.join(layoutDir, 'blobs/sha256', b))).toBe(b);
  });

  it('umoci unpacks the tree that went in (deleted file gone, setuid kept)', async () => {
    const rootfs = await umociUnpack(layoutDir, '1.0', path.join(dir, 'bundle'));
    expect(readFileSync(path.join(rootfs, 'etc/motd'), 'utf8')).toBe('hello from oci\n');
    expect(readFileSync(path.join(rootfs, 'etc/added'), 'utf8')).toBe('added\n');
    expect(existsSync(path.join(rootfs, 'etc/doomed'))).toBe(false);
    expect(lstatSync(path.join(rootfs, 'bin/suid')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(path.join(rootfs, 'bin/sh')).isSymbolicLink()).toBe(true);
  });

  it('skopeo inspects the config of the layout and of the archive', async () => {
    for (const ref of [`oci:${layoutDir}:1.0`, `oci-archive:${archive}:1.0`]) {
      const info = await skopeoInspect(ref);
      expect(info.Labels).toEqual({ 'org.example.kind': 'oci-test' });
      expect(info.Env).toEqual(['PATH=/bin']);
      expect(info.Created).toBe('2023-11-14T22:13:20Z');
      const config = await skopeoInspect(ref, { config: true });
      expect((config.config as { Cmd: string[] }).Cmd).toEqual(['/bin/cat', '/etc/motd']);
    }
  });

  it('skopeo copies both to a docker-archive that docker loads and runs', async () => {
    for (const [i, ref] of [`oci:${layoutDir}:1.0`, `oci-archive:${archive}:1.0`].entries()) {
      const name = uniqueRef(`oci-copy-${i}`);
      const out = path.join(dir, `copied-${i}.tar`);
      await skopeo(['copy', '--quiet', ref, `docker-archive:${out}:${name}`]);
      const { tags } = await dockerLoad(out);
      expect(tags).toContain(name);
      const r = await dockerRun(name);
      expect(r.stdout).toBe('hello from oci\n');
    }
  });

  it('is byte-for-byte reproducible and reuses the cached compressed layers', async () => {
    const first = await ociImage(store, img, { epoch: EPOCH });
    const inodes = first.layers.map((l) => lstatSync(store.path(l.digest)).ino);
    const again = await ociImage(store, img, { epoch: EPOCH });
    // Not compressed again: the very same blob files (a rewrite would rename a new inode into place).
    expect(again.layers.map((l) => lstatSync(store.path(l.digest)).ino)).toEqual(inodes);
    expect(again.layers).toEqual(first.layers);
    const dir2 = path.join(dir, 'layout2');
    await writeOciLayout(store, again, dir2, ['example.com/oci-test:1.0']);
    expect(treeDigests(dir2)).toEqual(treeDigests(layoutDir));
    const archive2 = path.join(dir, 'again.tar');
    await writeOciArchive(store, again, archive2, ['example.com/oci-test:1.0']);
    expect(sha256(archive2)).toBe(sha256(archive));
    const variants = readdirSync(path.join(store.dir, 'variants'));
    expect(variants.filter((v) => v.endsWith('.gzip.json'))).toHaveLength(2);
    // A fresh store with the same layers gives the same bytes (nothing depends on the cache).
    const store2 = new BlobStore(path.join(dir, 'store2'));
    const img2 = await makeImage(path.join(dir, 'second'), store2);
    const archive3 = path.join(dir, 'fresh.tar');
    await writeOciArchive(store2, await ociImage(store2, img2, { epoch: EPOCH }), archive3, [
      'example.com/oci-test:1.0',
    ]);
    expect(sha256(archive3)).toBe(sha256(archive));
  });

  it('writes zstd and uncompressed layers (zstd read by skopeo: the umoci of Debian 12 has no zstd)', async () => {
    for (const compression of ['zstd', 'none'] as const) {
      const layout = path.join(dir, `layout-${compression}`);
      await writeOciLayout(store, await ociImage(store, img, { compression, epoch: EPOCH }), layout, []);
      const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
      expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('latest');
      const manifest = JSON.parse(
        readFileSync(path.join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
      );
      expect(manifest.layers[0].mediaType).toBe(MEDIA_TYPES.layer[compression]);
      let unpackable = layout;
      if (compression === 'zstd') {
        unpackable = path.join(dir, 'layout-zstd-as-gzip');
        await skopeo([
          'copy',
          '--quiet',
          '--dest-compress-format',
          'gzip',
          `oci:${layout}:latest`,
          `oci:${unpackable}:latest`,
        ]);
      }
      const rootfs = await umociUnpack(unpackable, 'latest', path.join(dir, `bundle-${compression}`));
      expect(readFileSync(path.join(rootfs, 'etc/motd'), 'utf8')).toBe('hello from oci\n');
      expect(existsSync(path.join(rootfs, 'etc/doomed'))).toBe(false);
    }
  });

  it('keeps an already compressed base layer as it is', async () => {
    const gz = await storeLayer(store, walkTree(path.join(dir, 'two')), {
      clampMtime: EPOCH,
      compression: 'gzip',
    });
    const base = appendLayer(emptyImage(), gz, { created: EPOCH });
    const zstd = await ociImage(store, base, { compression: 'zstd' });
    expect(zstd.layers[0]).toEqual(gz);
  });

  it('refuses to replace a directory that is not an OCI layout', async () => {
    const victim = path.join(dir, 'victim');
    mkdirSync(victim);
    writeFileSync(path.join(victim, 'precious'), 'x');
    await expect(writeOciLayout(store, await ociImage(store, img), victim)).rejects.toThrow(
      /not an OCI image layout/,
    );
    expect(readFileSync(path.join(victim, 'precious'), 'utf8')).toBe('x');
    // An existing layout is replaced whole.
    await writeOciLayout(store, await ociImage(store, img, { epoch: EPOCH }), layoutDir, [
      'example.com/oci-test:1.0',
    ]);
    expect(execFileSync('ls', [layoutDir], { encoding: 'utf8' }).split('\n').filter(Boolean)).toEqual([
      'blobs',
      'index.json',
      'oci-layout',
    ]);
  });
});
