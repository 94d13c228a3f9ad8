import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobStore } from '../../src/image/blobstore.js';
import { sha256Digest } from '../../src/image/canonical.js';
import {
  appendHistory,
  appendLayer,
  configDigest,
  emptyImage,
  manifestBytes,
  setEnv,
  validateImage,
  withContainerConfig,
} from '../../src/image/image.js';
import { openLayerTar, storeLayer } from '../../src/image/layer.js';
import { collect, fileEntry, listTar, tmp } from '../tar/helpers.js';

describe('blob store', () => {
  it('stores by digest, verifies an expected digest, dedups concurrent writers', async () => {
    const store = new BlobStore(tmp('rootc-blobs-'));
    const info = await store.putBytes('hello');
    expect(info.digest).toBe(sha256Digest('hello'));
    expect(store.has(info.digest)).toBe(true);
    expect(readFileSync(store.path(info.digest), 'utf8')).toBe('hello');
    expect((await collect(store.open(info.digest))).toString()).toBe('hello');
    const same = await Promise.all([store.putBytes('x'.repeat(100000)), store.putBytes('x'.repeat(100000))]);
    expect(same[0].digest).toBe(same[1].digest);
    await expect(store.putBytes('other', info.digest)).rejects.toThrow(/expected sha256:.*got sha256:/);
    expect(readdirSync(path.join(store.dir, 'tmp'))).toEqual([]);
  });

  it('a failing stream leaves no blob and no temp file', async () => {
    const store = new BlobStore(tmp('rootc-blobs-'));
    async function* failing() {
      yield Buffer.from('partial data');
      throw new Error('source broke');
    }
    await expect(store.put(Readable.from(failing()))).rejects.toThrow(/source broke/);
    await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(path.join(store.dir, 'tmp'))).toEqual([]);
    expect(readdirSync(path.join(store.dir, 'blobs/sha256'))).toEqual([]);
    expect(existsSync(store.path(sha256Digest('partial data')))).toBe(false);
  });

  it('putChunks: many small chunks and big ones, gathered writes, the same blob as put', async () => {
    const store = new BlobStore(tmp('rootc-blobs-'));
    const chunks: Buffer[] = [];
    for (let i = 0; i < 3000; i++) chunks.push(Buffer.from(`header ${i}\n`));
    chunks.push(Buffer.alloc(3 << 20, 7), Buffer.alloc(0), Buffer.from('tail'));
    const whole = Buffer.concat(chunks);
    const info = await store.putChunks(chunks);
    expect(info).toEqual({ digest: sha256Digest(whole), size: whole.length });
    expect(readFileSync(store.path(info.digest)).equals(whole)).toBe(true);
    expect((await store.put(Readable.from([whole]))).digest).toBe(info.digest);
    await expect(store.putChunks([Buffer.from('x')], info.digest)).rejects.toThrow(/digest mismatch/);
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('producer broke');
    }
    await expect(store.putChunks(failing())).rejects.toThrow(/producer broke/);
    expect(readdirSync(path.join(store.dir, 'tmp'))).toEqual([]);
    expect(readdirSync(path.join(store.dir, 'blobs/sha256'))).toEqual([info.digest.slice(7)]);
  });
});

describe('image values', () => {
  it('appends layers and history immutably, with deterministic config digests', async () => {
    const store = new BlobStore(tmp('rootc-blobs-'));
    const layer = await storeLayer(store, [fileEntry('hello', 'world')]);
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const tar = await collect(await openLayerTar(store, layer));
    expect(sha256Digest(tar)).toBe(layer.diffId);
    expect(sha256Digest(readFileSync(store.path(layer.digest)))).toBe(layer.digest);
    expect((await listTar(tar))[0]).toMatchObject({ path: 'hello', content: 'world' });

    const base = emptyImage({ architecture: 'amd64' });
    let img = appendLayer(base, layer, { created_by: 'COPY hello /', created: 0 });
    img = appendHistory(setEnv(img, 'PATH', '/bin'), { created_by: 'ENV PATH=/bin', created: 0 });
    img = withContainerConfig(img, { Cmd: ['/bin/sh'], Entrypoint: undefined });
    expect(base.layers).toHaveLength(0);
    expect(Object.isFrozen(img.config)).toBe(true);
    expect(img.config.rootfs.diff_ids).toEqual([layer.diffId]);
    expect(img.config.history).toHaveLength(2);
    expect(img.config.config).toEqual({ Env: ['PATH=/bin'], Cmd: ['/bin/sh'] });
    expect(validateImage(img)).toEqual([]);
    const again = withContainerConfig(
      appendHistory(
        setEnv(appendLayer(base, layer, { created_by: 'COPY hello /', created: 0 }), 'PATH', '/bin'),
        {
          created_by: 'ENV PATH=/bin',
          created: 0,
        },
      ),
      { Cmd: ['/bin/sh'] },
    );
    expect(configDigest(again)).toBe(configDigest(img));
    expect(JSON.parse(manifestBytes(img).toString()).layers[0].digest).toBe(layer.digest);
  });

  it('stores the same entries as the same layer, compressed or not', async () => {
    const store = new BlobStore(tmp('rootc-blobs-'));
    const a = await storeLayer(store, [fileEntry('f', 'x', { mtime: 5000 })], { clampMtime: 100 });
    const b = await storeLayer(store, [fileEntry('f', 'x', { mtime: 9000 })], { clampMtime: 100 });
    expect(a).toEqual(b);
    const plain = await storeLayer(store, [fileEntry('f', 'x', { mtime: 100 })], { compression: 'none' });
    expect(plain.digest).toBe(plain.diffId);
    expect(plain.diffId).toBe(a.diffId);
  });
});
