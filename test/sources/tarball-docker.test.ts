import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/image/blobstore.js';
import { withContainerConfig } from '../../src/image/image.js';
import { openLayerTar } from '../../src/image/layer.js';
import { tarballSource } from '../../src/sources/tarball.js';
import { readTar } from '../../src/tar/reader.js';
import { writeDockerArchive } from '../../src/writers/docker.js';
import { dockerLoad, dockerRun, requireTools, tempDir, uniqueRef } from '../support/index.js';

describe('FROM tarball (xz) → docker archive → docker run', () => {
  if (!requireTools('docker', 'busybox', 'xz', 'tar', 'root')) return;

  it('runs busybox from a compressed rootfs tarball, with a device node kept in the layer', async () => {
    const dir = await tempDir('tarball-docker');
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'bin'), { recursive: true });
    mkdirSync(path.join(tree, 'dev'), { recursive: true });
    copyFileSync('/bin/busybox', path.join(tree, 'bin/busybox'));
    chmodSync(path.join(tree, 'bin/busybox'), 0o755);
    symlinkSync('busybox', path.join(tree, 'bin/sh'));
    execFileSync('mknod', ['-m', '600', path.join(tree, 'dev/console'), 'c', '5', '1']);
    const tarball = path.join(dir, 'rootfs.tar.xz');
    execFileSync('tar', ['-cJf', tarball, '-C', tree, '.']);

    const store = new BlobStore(path.join(dir, 'store'));
    const { image } = await tarballSource.resolve(
      { location: tarball },
      { store, cacheDir: path.join(dir, 'cache') },
    );
    const devices: string[] = [];
    for await (const m of readTar(await openLayerTar(store, image.layers[0]!))) {
      if (m.header.type === 'char')
        devices.push(`${m.header.name} ${m.header.devmajor}:${m.header.devminor}`);
    }
    expect(devices).toEqual(['dev/console 5:1']);
    const ref = uniqueRef('tarball');
    const archive = path.join(dir, 'image.tar');
    await writeDockerArchive(
      store,
      withContainerConfig(image, { Cmd: ['/bin/sh', '-c', 'echo from-tarball; ls -l /bin/sh'] }),
      archive,
      { tags: [ref] },
    );
    await dockerLoad(archive);
    const r = await dockerRun(ref);
    expect(r.stdout).toContain('from-tarball');
    expect(r.stdout).toContain('/bin/sh -> busybox');
  });
});
