import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  linkSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/image/blobstore.js';
import {
  appendLayer,
  configDigest,
  emptyImage,
  withContainerConfig,
  withImageFields,
} from '../../src/image/image.js';
import { storeLayer } from '../../src/image/layer.js';
import { readTar } from '../../src/tar/reader.js';
import { walkTree } from '../../src/tar/tree.js';
import { normalizeTag, writeDockerArchive } from '../../src/writers/docker.js';
import { writeRootfsTar } from '../../src/writers/rootfs.js';
import {
  docker,
  dockerImport,
  dockerInspect,
  dockerLoad,
  dockerRun,
  requireTools,
  tempDir,
  uniqueRef,
} from '../support/index.js';

const EPOCH = 1_700_000_000;

/** A tiny busybox tree: a setuid copy, a hardlinked pair, a file with a capability. */
function makeBusyboxTree(root: string): void {
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'tmp'), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const tool of ['sh', 'echo', 'stat', 'id', 'pwd', 'cat', 'ls'])
    symlinkSync('busybox', path.join(root, 'bin', tool));
  copyFileSync('/bin/busybox', path.join(root, 'bin/suid'));
  chmodSync(path.join(root, 'bin/suid'), 0o4755);
  copyFileSync('/bin/busybox', path.join(root, 'bin/a'));
  chmodSync(path.join(root, 'bin/a'), 0o755);
  linkSync(path.join(root, 'bin/a'), path.join(root, 'bin/b'));
  copyFileSync('/bin/busybox', path.join(root, 'bin/ping'));
  chmodSync(path.join(root, 'bin/ping'), 0o755);
  execFileSync('setcap', ['cap_net_raw+ep', path.join(root, 'bin/ping')]);
}

describe('unit: docker tags', () => {
  it('normalizes like docker load reads them', () => {
    expect(normalizeTag('app')).toEqual({
      repoTag: 'app:latest',
      fullName: 'docker.io/library/app:latest',
      tag: 'latest',
    });
    expect(normalizeTag('example.com:5000/team/app:1.0').fullName).toBe('example.com:5000/team/app:1.0');
    expect(normalizeTag('team/app:v2').fullName).toBe('docker.io/team/app:v2');
    expect(() => normalizeTag('Bad Name')).toThrow(/invalid image name/);
  });
});

describe('docker archive and rootfs outputs in a real dockerd', () => {
  if (!requireTools('docker', 'busybox', 'setcap', 'root')) return;
  let dir: string;
  let archive: string;
  let ref: string;
  let store: BlobStore;

  beforeAll(async () => {
    dir = await tempDir('docker-writer');
    const root = path.join(dir, 'tree');
    makeBusyboxTree(root);
    store = new BlobStore(path.join(dir, 'store'));
    const layer = await storeLayer(store, walkTree(root), { clampMtime: EPOCH });
    ref = uniqueRef('writer');
    let img = appendLayer(emptyImage(), layer, { created_by: 'COPY tree /', created: EPOCH });
    img = withImageFields(img, { created: EPOCH });
    img = withContainerConfig(img, {
      Cmd: ['/bin/sh', '-c', 'echo "hello $GREETING from $(pwd) as $(id -u)"'],
      Env: ['PATH=/bin', 'GREETING=rootc'],
      WorkingDir: '/work',
      User: '1234',
      ExposedPorts: { '8080/tcp': {} },
      Volumes: { '/data': {} },
      Labels: { 'org.example.kind': 'test' },
      StopSignal: 'SIGINT',
    });
    archive = path.join(dir, 'image.tar');
    await writeDockerArchive(store, img, archive, { tags: [ref] });
    const again = path.join(dir, 'again.tar');
    await writeDockerArchive(store, img, again, { tags: [ref] });
    expect(readFileSync(again).equals(readFileSync(archive))).toBe(true);
    const loaded = await dockerLoad(archive);
    expect(loaded.id).toBe(configDigest(img));
  });

  it('runs with the config it was given', async () => {
    const r = await dockerRun(ref);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('hello rootc from /work as 1234');
    const info = await dockerInspect(ref);
    expect(info.Config.Env).toEqual(['PATH=/bin', 'GREETING=rootc']);
    expect(info.Config.WorkingDir).toBe('/work');
    expect(info.Config.User).toBe('1234');
    expect(Object.keys(info.Config.ExposedPorts ?? {})).toEqual(['8080/tcp']);
    expect(Object.keys(info.Config.Volumes ?? {})).toEqual(['/data']);
    expect(info.Config.Labels).toEqual({ 'org.example.kind': 'test' });
    expect(info.Config.StopSignal).toBe('SIGINT');
    expect(info.Created).toBe('2023-11-14T22:13:20Z');
  });

  it('keeps setuid bits, hardlinks and file capabilities', async () => {
    const r = await dockerRun(ref, ['stat', '-c', '%a %i %n', '/bin/suid', '/bin/a', '/bin/b'], {
      args: ['--user', '0'],
    });
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(lines[0]![0]).toBe('4755');
    expect(lines[1]![1]).toBe(lines[2]![1]);
    // The capability is an xattr: read it back from `docker export` (which archives security.capability).
    const cid = (await docker(['create', ref])).stdout.trim();
    const exported = path.join(dir, 'export.tar');
    await docker(['export', '-o', exported, cid]);
    await docker(['rm', cid]);
    let cap: Buffer | undefined;
    for await (const m of readTar(createReadStream(exported))) {
      if (m.header.name === 'bin/ping') cap = m.header.xattrs['security.capability'];
    }
    expect(cap).toBeDefined();
    const hostCap = execFileSync('getcap', [path.join(dir, 'tree/bin/ping')], { encoding: 'utf8' });
    expect(hostCap).toMatch(/cap_net_raw[=+]ep/);
  });

  it('writes a rootfs tar that docker import runs', async () => {
    const rootfs = path.join(dir, 'rootfs.tar');
    await writeRootfsTar(path.join(dir, 'tree'), rootfs, { clampMtime: EPOCH });
    const importRef = uniqueRef('rootfs');
    await dockerImport(rootfs, importRef, { changes: ['CMD ["/bin/echo", "imported"]'] });
    const r = await dockerRun(importRef);
    expect(r.stdout.trim()).toBe('imported');
  });
});
