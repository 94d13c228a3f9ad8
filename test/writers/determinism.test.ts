import { chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/image/blobstore.js';
import { appendLayer, emptyImage, withContainerConfig, withImageFields } from '../../src/image/image.js';
import { storeLayer } from '../../src/image/layer.js';
import { readTar } from '../../src/tar/reader.js';
import { walkTree } from '../../src/tar/tree.js';
import { writeDockerArchive } from '../../src/writers/docker.js';
import { writeRootfsTar } from '../../src/writers/rootfs.js';
import { tmp } from '../tar/helpers.js';

const EPOCH = 1_700_000_000;

async function build(workdir: string, mtime: number): Promise<{ docker: Buffer; rootfs: Buffer }> {
  const tree = path.join(workdir, 'some', 'tree');
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  writeFileSync(path.join(tree, 'etc/motd'), 'hi\n');
  writeFileSync(path.join(tree, 'run.sh'), '#!/bin/sh\necho run\n');
  chmodSync(path.join(tree, 'run.sh'), 0o755);
  symlinkSync('etc/motd', path.join(tree, 'motd'));
  for (const p of ['etc/motd', 'run.sh', 'etc', '.']) utimesSync(path.join(tree, p), mtime, mtime);
  const store = new BlobStore(path.join(workdir, 'store'));
  const layer = await storeLayer(store, walkTree(tree), { clampMtime: EPOCH });
  const image = withImageFields(
    withContainerConfig(
      appendLayer(emptyImage({ architecture: 'amd64' }), layer, { created_by: 'COPY . /', created: EPOCH }),
      {
        Cmd: ['/run.sh'],
      },
    ),
    { created: EPOCH },
  );
  await writeDockerArchive(store, image, path.join(workdir, 'out/image.tar'), { tags: ['example/app:1'] });
  await writeRootfsTar(tree, path.join(workdir, 'out/rootfs.tar'), { clampMtime: EPOCH });
  return {
    docker: readFileSync(path.join(workdir, 'out/image.tar')),
    rootfs: readFileSync(path.join(workdir, 'out/rootfs.tar')),
  };
}

describe('outputs are reproducible', () => {
  it('same tree, other directory, other time, later mtimes: identical docker and rootfs archives', async () => {
    const a = await build(tmp('rootc-det-a-'), EPOCH + 100);
    await new Promise((r) => setTimeout(r, 1100));
    const b = await build(tmp('rootc-det-b-longer-name-'), EPOCH + 5000);
    expect(a.docker.equals(b.docker)).toBe(true);
    expect(a.rootfs.equals(b.rootfs)).toBe(true);
  });

  it('lays the docker archive out as Docker 25+ does: sorted, 0:0, mtime 0', async () => {
    const { docker } = await build(tmp('rootc-det-c-'), EPOCH);
    const names: string[] = [];
    for await (const m of readTar([docker])) {
      names.push(m.header.name);
      expect(m.header).toMatchObject({ uid: 0, gid: 0, mtime: 0 });
      if (m.header.name === 'manifest.json') {
        const chunks: Buffer[] = [];
        for await (const c of m.body()) chunks.push(c);
        const manifest = JSON.parse(Buffer.concat(chunks).toString());
        expect(manifest[0].RepoTags).toEqual(['example/app:1']);
        expect(manifest[0].Config).toMatch(/^blobs\/sha256\/[0-9a-f]{64}$/);
        expect(manifest[0].Layers).toHaveLength(1);
      }
    }
    expect(names.slice(0, 2)).toEqual(['blobs/', 'blobs/sha256/']);
    expect(names.slice(-3)).toEqual(['index.json', 'manifest.json', 'oci-layout']);
    expect([...names].sort()).toEqual(names);
  });
});

describe('blob store temp pruning', () => {
  it('removes only stale temp files', async () => {
    const store = new BlobStore(tmp('rootc-prune-'));
    const stale = path.join(store.dir, 'tmp', 'dead-writer');
    writeFileSync(stale, 'x');
    utimesSync(stale, 1000, 1000);
    writeFileSync(path.join(store.dir, 'tmp', 'live-writer'), 'y');
    expect(store.pruneTemp()).toBe(1);
  });
});

describe('rootfs writer failures', () => {
  it('fails (and leaves no output or temp file) when a file changes size while archived', async () => {
    const { writeFileAtomic } = await import('../../src/writers/atomic.js');
    const { tarStream } = await import('../../src/tar/writer.js');
    const { compressStream } = await import('../../src/tar/compress.js');
    const { Readable } = await import('node:stream');
    const { readdirSync } = await import('node:fs');
    const dir = tmp('rootc-fail-');
    const grew = {
      path: 'f',
      type: 'file' as const,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: 1,
      open: () => Readable.from([Buffer.from('more than one byte')]),
    };
    await expect(
      writeFileAtomic(path.join(dir, 'out.tar.gz'), tarStream([grew]), compressStream('gzip')),
    ).rejects.toThrow(/changed size/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
