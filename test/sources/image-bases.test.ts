/**
 * docker-archive, oci and aci bases at the source level, on archives made here: rootc's own docker archive, a
 * classic `docker save` layout (`<id>/layer.tar`, a symlinked shared layer, several images), an OCI layout with a
 * nested multi-platform index, an ACI with manifest and rootfs/. Layers must come back byte for byte.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Diagnostic, DiagnosticError } from '../../src/diagnostics/diagnostic.js';
import type { BlobStore } from '../../src/image/blobstore.js';
import { canonicalJson } from '../../src/image/canonical.js';
import { imageArchitecture } from '../../src/image/config.js';
import {
  appendLayer,
  configBytes,
  emptyImage,
  type Image,
  manifestBytes,
  withContainerConfig,
} from '../../src/image/image.js';
import { type Layer, MEDIA_TYPES, storeLayer } from '../../src/image/layer.js';
import { aciSource } from '../../src/sources/aci.js';
import { dockerArchiveSource } from '../../src/sources/docker-archive.js';
import { ociSource } from '../../src/sources/oci.js';
import { materializeImage } from '../../src/sources/source.js';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { tarStream } from '../../src/tar/writer.js';
import { writeDockerArchive } from '../../src/writers/docker.js';
import { tempDirSync } from '../support/index.js';
import { sourceContext } from './helpers.js';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const context = sourceContext;

const file = (p: string, content: string, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({
  path: p,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: 1,
  size: Buffer.byteLength(content),
  open: () => Readable.from([Buffer.from(content)]),
  ...extra,
});
const dir = (p: string): TarEntrySpec => ({
  path: p,
  type: 'directory',
  mode: 0o755,
  uid: 0,
  gid: 0,
  mtime: 1,
});

async function writeTar(dest: string, entries: TarEntrySpec[], gzip = false): Promise<void> {
  const out = (await import('node:fs')).createWriteStream(dest);
  if (gzip) await pipeline(tarStream(entries), zlib.createGzip(), out);
  else await pipeline(tarStream(entries), out);
}

async function refusal(p: Promise<unknown>): Promise<Diagnostic> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics[0]!;
    throw e;
  }
  throw new Error('expected an error');
}

/** A 3-layer image: files, then a deletion (whiteout), then gzip-compressed additions. */
async function threeLayers(store: BlobStore): Promise<Image> {
  const l1 = await storeLayer(store, [dir('etc'), file('etc/keep', 'keep\n'), file('etc/gone', 'gone\n')], {
    compression: 'none',
  });
  const l2 = await storeLayer(store, [dir('etc'), file('etc/.wh.gone', '')], { compression: 'none' });
  const l3 = await storeLayer(store, [dir('srv'), file('srv/app', 'app\n')], { compression: 'gzip' });
  let img = appendLayer(emptyImage(), l1, { created_by: 'one' });
  img = appendLayer(img, l2, { created_by: 'two' });
  img = appendLayer(img, l3, { created_by: 'three' });
  return withContainerConfig(img, {
    Env: ['PATH=/usr/bin:/bin', 'FOO=bar'],
    Cmd: ['/srv/app'],
    WorkingDir: '/srv',
    User: '1000:1000',
    ExposedPorts: { '8080/tcp': {} },
    Volumes: { '/data': {} },
    Labels: { a: 'b' },
    StopSignal: 'SIGQUIT',
  });
}

describe('FROM docker-archive', () => {
  it("reads rootc's own archive: layers byte for byte, config and history inherited, whiteouts applied", async () => {
    const src = context();
    const image = await threeLayers(src.store);
    const work = tempDirSync('da');
    await writeDockerArchive(src.store, image, path.join(work, 'img.tar'), { tags: ['example/app:1.0'] });

    const ctx = context(work);
    const r = await dockerArchiveSource.resolve({ path: 'img.tar' }, ctx);
    expect(r.image.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
    expect(r.image.layers.map((l) => l.mediaType)).toEqual(image.layers.map((l) => l.mediaType));
    expect(r.image.config.rootfs.diff_ids).toEqual(image.config.rootfs.diff_ids);
    expect(r.image.config.config).toEqual(image.config.config);
    expect(r.image.config.history.map((h) => h.created_by)).toEqual(['one', 'two', 'three']);
    for (const l of r.image.layers) expect(ctx.store.has(l.digest)).toBe(true);
    const root = tempDirSync('da-root');
    await materializeImage(ctx.store, r.image, root);
    expect(readFileSync(path.join(root, 'etc/keep'), 'utf8')).toBe('keep\n');
    expect(existsSync(path.join(root, 'etc/gone'))).toBe(false);
    expect(readFileSync(path.join(root, 'srv/app'), 'utf8')).toBe('app\n');
    // By tag, in its several spellings.
    for (const ref of ['example/app:1.0', 'docker.io/example/app:1.0', '1.0']) {
      const byTag = await dockerArchiveSource.resolve({ path: 'img.tar', reference: ref }, ctx);
      expect(byTag.digest).toBe(r.digest);
    }
    const d = await refusal(dockerArchiveSource.resolve({ path: 'img.tar', reference: 'other:2' }, ctx));
    expect(d.code).toBe('source/unknown-tag');
    expect(d.message).toContain('example/app:1.0');
  });

  it('reads a classic docker save layout with a symlinked shared layer and picks the image by tag', async () => {
    const work = tempDirSync('da-classic');
    const layerA = Buffer.concat(await collectTar([dir('a'), file('a/one', '1\n')]));
    const layerB = Buffer.concat(await collectTar([file('b', '2\n')]));
    const cfg = (layers: Buffer[], cmd: string) =>
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Cmd: [cmd], Env: null, Labels: null },
          container_config: { Cmd: ['ignored'] },
          rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) },
          history: layers.map((_, i) => ({ created_by: `step ${i}` })),
        }),
      );
    const cfg1 = cfg([layerA], '/one');
    const cfg2 = cfg([layerA, layerB], '/two');
    const hex = (b: Buffer) => sha256(b).slice(7);
    const entries: TarEntrySpec[] = [
      dir('aaa'),
      file('aaa/layer.tar', layerA.toString('latin1')),
      dir('bbb'),
      file('bbb/layer.tar', layerB.toString('latin1')),
      dir('ccc'),
      {
        path: 'ccc/layer.tar',
        type: 'symlink',
        linkname: '../aaa/layer.tar',
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: 0,
      },
      file(`${hex(cfg1)}.json`, cfg1.toString('latin1')),
      file(`${hex(cfg2)}.json`, cfg2.toString('latin1')),
      file(
        'manifest.json',
        JSON.stringify([
          { Config: `${hex(cfg1)}.json`, RepoTags: ['one:latest'], Layers: ['aaa/layer.tar'] },
          {
            Config: `${hex(cfg2)}.json`,
            RepoTags: ['two:latest', 'two:v2'],
            Layers: ['ccc/layer.tar', 'bbb/layer.tar'],
          },
        ]),
      ),
    ];
    // Written as latin1 strings so the bytes survive: layer tars are binary.
    await writeTar(
      path.join(work, 'saved.tar'),
      entries.map((e) =>
        e.type === 'file' && e.path.endsWith('.tar')
          ? {
              ...e,
              size: (e.path.startsWith('aaa') ? layerA : layerB).length,
              open: () => Readable.from([e.path.startsWith('aaa') ? layerA : layerB]),
            }
          : e,
      ),
    );
    const ctx = context(work);
    const two = await dockerArchiveSource.resolve({ path: 'saved.tar', reference: 'two:v2' }, ctx);
    expect(two.image.layers.map((l) => l.digest)).toEqual([sha256(layerA), sha256(layerB)]);
    expect(two.image.layers.every((l) => l.mediaType === MEDIA_TYPES.layer.none)).toBe(true);
    expect(two.image.config.config).toEqual({ Cmd: ['/two'] });
    expect(
      (await dockerArchiveSource.resolve({ path: 'saved.tar', reference: 'one' }, ctx)).image.layers,
    ).toHaveLength(1);
    const d = await refusal(dockerArchiveSource.resolve({ path: 'saved.tar' }, ctx));
    expect(d.code).toBe('source/ambiguous-image');
    expect(d.message).toContain('one:latest, two:latest, two:v2');
  });
});

async function collectTar(entries: TarEntrySpec[]): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  for await (const c of tarStream(entries)) parts.push(Buffer.from(c as Buffer));
  return parts;
}

describe('FROM oci', () => {
  async function layout(): Promise<{ dir: string; image: Image; layers: Layer[] }> {
    const src = context();
    const image = await threeLayers(src.store);
    const d = tempDirSync('oci');
    mkdirSync(path.join(d, 'blobs/sha256'), { recursive: true });
    const put = (bytes: Buffer) => {
      const digest = sha256(bytes);
      writeFileSync(path.join(d, 'blobs/sha256', digest.slice(7)), bytes);
      return { digest, size: bytes.length };
    };
    for (const l of image.layers)
      writeFileSync(path.join(d, 'blobs/sha256', l.digest.slice(7)), readFileSync(src.store.path(l.digest)));
    put(configBytes(image));
    const manifest = put(manifestBytes(image));
    // An arm-or-amd64 pair in a nested index, plus an attestation: the platform that is not ours is skipped.
    const here = imageArchitecture();
    const other = here.architecture === 'amd64' ? 'arm64' : 'amd64';
    const bogus = put(
      Buffer.from(
        canonicalJson({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.manifest,
          config: { digest: 'sha256:00' },
          layers: [],
        }),
      ),
    );
    const nested = put(
      Buffer.from(
        canonicalJson({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.index,
          manifests: [
            { mediaType: MEDIA_TYPES.manifest, ...bogus, platform: { os: 'linux', architecture: other } },
            {
              mediaType: MEDIA_TYPES.manifest,
              ...manifest,
              platform: {
                os: 'linux',
                architecture: here.architecture,
                ...(here.variant ? { variant: here.variant } : {}),
              },
            },
            {
              mediaType: MEDIA_TYPES.manifest,
              ...bogus,
              platform: { os: 'unknown', architecture: 'unknown' },
            },
          ],
        }),
      ),
    );
    writeFileSync(path.join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(
      path.join(d, 'index.json'),
      canonicalJson({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.index,
        manifests: [
          {
            mediaType: MEDIA_TYPES.index,
            ...nested,
            annotations: { 'org.opencontainers.image.ref.name': 'multi' },
          },
          {
            mediaType: MEDIA_TYPES.manifest,
            ...manifest,
            annotations: { 'org.opencontainers.image.ref.name': 'v1' },
          },
        ],
      }),
    );
    return { dir: d, image, layers: [...image.layers] };
  }

  it('follows nested indexes to this platform and keeps the blobs', async () => {
    const { dir: d, image } = await layout();
    const ctx = context();
    // Both names lead to one manifest: no tag needed.
    const r = await ociSource.resolve({ path: d }, ctx);
    expect(r.image.layers).toEqual(image.layers);
    expect(r.image.config.config).toEqual(image.config.config);
    const tagged = await ociSource.resolve({ path: d, reference: 'multi' }, ctx);
    expect(tagged.digest).toBe(r.digest);
    const root = tempDirSync('oci-root');
    await materializeImage(ctx.store, r.image, root);
    expect(existsSync(path.join(root, 'etc/gone'))).toBe(false);
    const bad = await refusal(ociSource.resolve({ path: d, reference: 'nope' }, ctx));
    expect(bad.code).toBe('source/unknown-tag');
    expect(bad.message).toMatch(/multi, v1|v1, multi/);
  });

  it('refuses a layout whose blob does not match its digest', async () => {
    const { dir: d, layers } = await layout();
    writeFileSync(path.join(d, 'blobs/sha256', layers[0]!.digest.slice(7)), 'tampered');
    const e = await refusal(ociSource.resolve({ path: d, reference: 'v1' }, context()));
    expect(e.message).toMatch(/digest mismatch/);
  });
});

describe('FROM aci', () => {
  it('makes one layer of rootfs/ and the config from the manifest', async () => {
    const work = tempDirSync('aci');
    const manifest = {
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name: 'example.com/app',
      labels: [
        { name: 'version', value: '1.0' },
        { name: 'os', value: 'linux' },
        { name: 'arch', value: 'amd64' },
      ],
      app: {
        exec: ['/bin/app', '--serve'],
        user: '1000',
        group: '100',
        workingDirectory: '/srv',
        environment: [{ name: 'TERM', value: 'linux' }],
        ports: [{ name: 'http', protocol: 'tcp', port: 8080 }],
        mountPoints: [{ name: 'data', path: '/data' }],
      },
    };
    await writeTar(
      path.join(work, 'app.aci'),
      [
        file('manifest', JSON.stringify(manifest)),
        dir('rootfs'),
        dir('rootfs/bin'),
        file('rootfs/bin/app', '#!/bin/sh\n', { mode: 0o755 }),
        {
          path: 'rootfs/bin/app2',
          type: 'hardlink',
          linkname: 'rootfs/bin/app',
          mode: 0o755,
          uid: 0,
          gid: 0,
          mtime: 1,
        },
      ],
      true,
    );
    const ctx = context(work);
    const r = await aciSource.resolve({ path: 'app.aci' }, ctx);
    expect(r.image.layers).toHaveLength(1);
    expect(r.image.config.architecture).toBe('amd64');
    expect(r.image.config.config).toEqual({
      Cmd: ['/bin/app', '--serve'],
      Env: ['TERM=linux'],
      User: '1000:100',
      WorkingDir: '/srv',
      ExposedPorts: { '8080/tcp': {} },
      Volumes: { '/data': {} },
      Labels: { version: '1.0', os: 'linux', arch: 'amd64' },
    });
    const root = tempDirSync('aci-root');
    await materializeImage(ctx.store, r.image, root);
    expect(readFileSync(path.join(root, 'bin/app2'), 'utf8')).toBe('#!/bin/sh\n');
    expect(existsSync(path.join(root, 'rootfs'))).toBe(false);
    expect(ctx.warnings).toEqual([]);
  });

  it('refuses an ACI with dependencies and a tar without a manifest', async () => {
    const work = tempDirSync('aci-bad');
    await writeTar(path.join(work, 'dep.aci'), [
      file(
        'manifest',
        JSON.stringify({
          acKind: 'ImageManifest',
          acVersion: '0.8.11',
          name: 'x',
          dependencies: [{ imageName: 'base' }],
        }),
      ),
      dir('rootfs'),
    ]);
    await writeTar(path.join(work, 'none.aci'), [dir('rootfs'), file('rootfs/x', 'x')]);
    const ctx = context(work);
    expect((await refusal(aciSource.resolve({ path: 'dep.aci' }, ctx))).code).toBe('source/aci-dependencies');
    expect((await refusal(aciSource.resolve({ path: 'none.aci' }, ctx))).code).toBe('source/aci-invalid');
  });
});
