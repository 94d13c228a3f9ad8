/**
 * The aci writer: the manifest mapping (names, labels, exec, user/group, ports, mount points, environment,
 * annotations) as units, then real archives checked by appc's actool (validate, cat-manifest) in every
 * compression the spec allows, with device nodes, hardlinks, setuid and xattrs kept under rootfs/.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
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
import { storeLayer } from '../../src/image/layer.js';
import { decompressStream } from '../../src/tar/compress.js';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { readTar } from '../../src/tar/reader.js';
import {
  aciArch,
  aciManifest,
  aciName,
  aciUserGroup,
  execCandidates,
  parseAciCompression,
  toAcName,
  writeAci,
} from '../../src/writers/aci.js';
import { actool, requireTools, tempDir } from '../support/index.js';

const EPOCH = 1_700_000_000;

describe('unit: ACI names and manifest', () => {
  it('turns -t into an AC Identifier name and a version label, or says why not', () => {
    expect(aciName('example.com/app:1.0')).toEqual({ name: 'example.com/app', version: '1.0' });
    expect(aciName('app')).toEqual({ name: 'app', version: 'latest' });
    expect(() => aciName('Example.com/App:1')).toThrow(/not a valid ACI name.*upper-case/);
    expect(() => aciName('app@sha256:abc')).toThrow(/digest/);
    expect(() => aciName('localhost:5000/app:1')).toThrow(/port/);
    expect(() => aciName('-app')).toThrow(/not a valid ACI name/);
  });

  it('maps architectures, users and names the appc way', () => {
    expect(aciArch('amd64', undefined)).toBe('amd64');
    expect(aciArch('386', undefined)).toBe('i386');
    expect(aciArch('arm64', 'v8')).toBe('aarch64');
    expect(aciArch('arm', 'v7')).toBe('armv7l');
    expect(aciArch('s390x', undefined)).toBe('s390x');
    expect(() => aciArch('mips', undefined)).toThrow(/no appc name/);
    expect(aciUserGroup(undefined, undefined)).toEqual({ user: '0', group: '0' });
    expect(aciUserGroup('app:staff', undefined)).toEqual({ user: 'app', group: 'staff' });
    expect(aciUserGroup('app', 'root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n')).toEqual({
      user: 'app',
      group: '1001',
    });
    expect(aciUserGroup('4242', undefined)).toEqual({ user: '4242', group: '0' });
    expect(execCandidates('sh', ['PATH=/usr/bin:/bin:relative'])).toEqual(['usr/bin/sh', 'bin/sh']);
    expect(execCandidates('sh', undefined)).toContain('usr/local/bin/sh');
    expect(execCandidates('/bin/sh', undefined)).toEqual([]);
    expect(toAcName('/var/lib/x')).toBe('var-lib-x');
    expect(toAcName('/Data_Dir/')).toBe('data-dir');
  });

  it('maps the config: exec, ports, mount points, environment, annotations', () => {
    let img = withImageFields(emptyImage({ architecture: 'amd64' }), { created: EPOCH });
    img = withContainerConfig(img, {
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo hi'],
      User: '1000:1000',
      WorkingDir: '/work',
      Env: ['PATH=/bin', 'GREETING=hello=world'],
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000-8002/tcp': {} },
      Volumes: { '/var/lib/x': {}, '/data': {} },
    });
    img = withAnnotations(img, { 'org.opencontainers.image.title': 't', homepage: 'https://example.com' });
    const m = aciManifest({
      config: img.config,
      annotations: img.annotations,
      name: aciName('example.com/t:2'),
    });
    expect(Object.keys(m)).toEqual(['acKind', 'acVersion', 'name', 'labels', 'app', 'annotations']);
    expect(m.labels).toEqual([
      { name: 'arch', value: 'amd64' },
      { name: 'os', value: 'linux' },
      { name: 'version', value: '2' },
    ]);
    expect(m.app).toEqual({
      exec: ['/bin/sh', '-c', 'echo hi'],
      user: '1000',
      group: '1000',
      workingDirectory: '/work',
      environment: [
        { name: 'PATH', value: '/bin' },
        { name: 'GREETING', value: 'hello=world' },
      ],
      mountPoints: [
        { name: 'data', path: '/data', readOnly: false },
        { name: 'var-lib-x', path: '/var/lib/x', readOnly: false },
      ],
      ports: [
        { name: 'udp-53', protocol: 'udp', port: 53 },
        { name: 'tcp-80', protocol: 'tcp', port: 80 },
        { name: 'tcp-8000-8002', protocol: 'tcp', port: 8000, count: 3 },
      ],
    });
    expect(m.annotations).toEqual([
      { name: 'created', value: '2023-11-14T22:13:20Z' },
      { name: 'homepage', value: 'https://example.com' },
      { name: 'org.opencontainers.image.title', value: 't' },
    ]);
  });

  it('has no app without ENTRYPOINT or CMD, and refuses what appc cannot hold', () => {
    const img = emptyImage({ architecture: 'amd64' });
    expect(aciManifest({ config: img.config, annotations: {}, name: aciName('a') }).app).toBeUndefined();
    expect(() =>
      aciManifest({ config: img.config, annotations: { 'Org.Example': 'x' }, name: aciName('a') }),
    ).toThrow(/AC Identifier/);
    expect(() => parseAciCompression('zstd')).toThrow(/appc spec allows gzip, bzip2 or xz/);
    expect(parseAciCompression(undefined)).toBe('gzip');
    expect(parseAciCompression('xz')).toBe('xz');
  });
});

const base = { uid: 0, gid: 0, mtime: EPOCH };
const file = (p: string, text: string, mode = 0o644, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({
  path: p,
  type: 'file',
  mode,
  ...base,
  size: Buffer.byteLength(text),
  open: () => Readable.from([Buffer.from(text)]),
  ...extra,
});
const dir = (p: string, mode = 0o755): TarEntrySpec => ({ path: p, type: 'directory', mode, ...base });

async function listAci(file: string): Promise<Map<string, TarEntrySpec & { content?: string }>> {
  const out = new Map<string, TarEntrySpec & { content?: string }>();
  const { stream } = await decompressStream(createReadStream(file));
  for await (const m of readTar(stream as AsyncIterable<Buffer>)) {
    const h = m.header;
    let content: string | undefined;
    if (h.type === 'file') {
      const chunks: Buffer[] = [];
      for await (const c of m.body()) chunks.push(Buffer.from(c));
      content = Buffer.concat(chunks).toString('utf8');
    }
    out.set(h.name.replace(/\/$/, ''), {
      path: h.name,
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      mtime: h.mtime,
      linkname: h.linkname,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs: h.xattrs,
      ...(content === undefined ? {} : { content }),
    });
  }
  return out;
}

describe('ACI archives under actool', () => {
  if (!requireTools('actool', 'xz', 'bzip2')) return;
  let dir_: string;
  let store: BlobStore;
  let img: Image;

  beforeAll(async () => {
    dir_ = await tempDir('aci-writer');
    store = new BlobStore(path.join(dir_, 'store'));
    let i = withImageFields(emptyImage({ architecture: 'amd64' }), { created: EPOCH });
    const l1 = await storeLayer(
      store,
      [
        dir('bin'),
        file('bin/app', '#!/bin/sh\necho app\n', 0o4755, { uid: 1000, gid: 1000 }),
        { path: 'bin/app2', type: 'hardlink', linkname: 'bin/app', mode: 0o4755, ...base },
        file('bin/ping', 'ping', 0o755, {
          xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0]) },
        }),
        dir('dev'),
        { path: 'dev/console', type: 'char', mode: 0o600, ...base, devmajor: 5, devminor: 1 },
        dir('etc'),
        file('etc/passwd', 'root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n'),
        file('etc/old', 'old'),
      ],
      { compression: 'none' },
    );
    const l2 = await storeLayer(store, [dir('etc'), file('etc/.wh.old', ''), file('etc/new', 'new')], {
      compression: 'gzip',
    });
    i = appendLayer(appendLayer(i, l1), l2);
    i = withContainerConfig(i, {
      Entrypoint: ['/bin/app'],
      User: 'app',
      Env: ['PATH=/bin'],
      ExposedPorts: { '8080/tcp': {} },
      Volumes: { '/data': {} },
    });
    img = withAnnotations(i, { 'org.example.note': 'hi' });
  });

  for (const compression of ['gzip', 'xz', 'bzip2', 'none'] as const) {
    it(`validates (${compression}) and cat-manifest shows the mapped fields`, async () => {
      const out = path.join(dir_, `img-${compression}.aci`);
      await writeAci(store, img, out, { tags: ['example.com/aci-test:1.0'], compression, epoch: EPOCH });
      const v = await actool(['--debug', 'validate', out], { reject: false });
      expect(v.exitCode, v.stderr + v.stdout).toBe(0);
      const m = JSON.parse((await actool(['cat-manifest', out])).stdout);
      expect(m).toMatchObject({
        acKind: 'ImageManifest',
        acVersion: '0.8.11',
        name: 'example.com/aci-test',
        labels: [
          { name: 'arch', value: 'amd64' },
          { name: 'os', value: 'linux' },
          { name: 'version', value: '1.0' },
        ],
        app: {
          exec: ['/bin/app'],
          user: 'app',
          group: '1001',
          environment: [{ name: 'PATH', value: '/bin' }],
          ports: [{ name: 'tcp-8080', protocol: 'tcp', port: 8080 }],
          mountPoints: [{ name: 'data', path: '/data', readOnly: false }],
        },
        annotations: [
          { name: 'created', value: '2023-11-14T22:13:20Z' },
          { name: 'org.example.note', value: 'hi' },
        ],
      });
      const head = readFileSync(out).subarray(0, 6);
      const magic = { gzip: '1f8b', xz: 'fd377a585a00', bzip2: '425a68', none: '6d616e' }[compression];
      expect(head.toString('hex').startsWith(magic)).toBe(true);
    });
  }

  it('keeps owners, modes, hardlinks (as rootfs/ paths), device nodes and xattrs; applies whiteouts', async () => {
    const out = path.join(dir_, 'img-gzip.aci');
    const list = await listAci(out);
    expect([...list.keys()].slice(0, 2)).toEqual(['manifest', 'rootfs']);
    for (const name of list.keys())
      expect(name === 'manifest' || name === 'rootfs' || name.startsWith('rootfs/')).toBe(true);
    expect(list.get('rootfs/bin/app')).toMatchObject({ mode: 0o4755, uid: 1000, gid: 1000 });
    expect(list.get('rootfs/bin/app2')).toMatchObject({ type: 'hardlink', linkname: 'rootfs/bin/app' });
    expect(list.get('rootfs/dev/console')).toMatchObject({
      type: 'char',
      devmajor: 5,
      devminor: 1,
      mode: 0o600,
    });
    expect(Object.keys(list.get('rootfs/bin/ping')!.xattrs ?? {})).toEqual(['security.capability']);
    expect(list.has('rootfs/etc/old')).toBe(false);
    expect(list.get('rootfs/etc/new')!.content).toBe('new');
  });

  it('is byte-for-byte reproducible', async () => {
    const a = path.join(dir_, 'r1.aci');
    const b = path.join(dir_, 'r2.aci');
    await writeAci(store, img, a, { tags: ['example.com/aci-test:1.0'], epoch: EPOCH });
    await writeAci(store, img, b, { tags: ['example.com/aci-test:1.0'], epoch: EPOCH });
    const h = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(h(a)).toBe(h(b));
  });

  it('makes a bare exec name absolute by finding it along PATH in the image (appc wants an absolute path)', async () => {
    const bare = withContainerConfig(img, { Entrypoint: undefined, Cmd: ['app', '--flag'], User: undefined });
    const out = path.join(dir_, 'bare.aci');
    await writeAci(store, bare, out, { tags: ['example.com/aci-test:1.0'], epoch: EPOCH });
    const m = JSON.parse((await actool(['cat-manifest', out])).stdout);
    expect(m.app.exec).toEqual(['/bin/app', '--flag']);
    expect(m.app).toMatchObject({ user: '0', group: '0' });
    const missing = withContainerConfig(img, { Entrypoint: undefined, Cmd: ['nothere'] });
    await writeAci(store, missing, out, { tags: ['example.com/aci-test:1.0'], epoch: EPOCH });
    expect(JSON.parse((await actool(['cat-manifest', out])).stdout).app.exec).toEqual(['nothere']);
  });

  it('refuses a name that is no AC Identifier and writes nothing', async () => {
    const out = path.join(dir_, 'bad.aci');
    await expect(writeAci(store, img, out, { tags: ['Example.com/App:1'] })).rejects.toThrow(
      /not a valid ACI name/,
    );
    await expect(writeAci(store, img, out, { tags: [] })).rejects.toThrow(/needs a name/);
    expect(() => readFileSync(out)).toThrow();
  });
});
