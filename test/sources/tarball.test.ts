import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileDigestCache } from '../../src/cache/digests.js';
import { openLayerTar } from '../../src/image/layer.js';
import { scratchSource } from '../../src/sources/scratch.js';
import { materializeImage, type SourceContext } from '../../src/sources/source.js';
import { tarballSource } from '../../src/sources/tarball.js';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { tarChunks } from '../../src/tar/writer.js';
import { collect, fileEntry, hasTool, listTar, tmp } from '../tar/helpers.js';
import { sourceContext } from './helpers.js';

const context = sourceContext;

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('FROM scratch', () => {
  it('is an empty image', async () => {
    const { image } = await scratchSource.resolve({}, context());
    expect(image.layers).toEqual([]);
    expect(image.config.rootfs.diff_ids).toEqual([]);
  });
});

describe('FROM tarball: formats by magic bytes', () => {
  const src = tmp();
  mkdirSync(path.join(src, 'tree/etc'), { recursive: true });
  mkdirSync(path.join(src, 'tree/bin'), { recursive: true });
  writeFileSync(path.join(src, 'tree/etc/os-release'), 'ID=test\n');
  writeFileSync(path.join(src, 'tree/bin/tool'), 'tool');
  execFileSync('chmod', ['4755', path.join(src, 'tree/bin/tool')]);

  const kinds = [
    { name: 'plain.tar', flag: [] as string[], tool: 'tar' },
    { name: 'gz.tgz', flag: ['-z'], tool: 'gzip' },
    { name: 'bz.tar.bz2', flag: ['-j'], tool: 'bzip2' },
    { name: 'xz.tar.xz', flag: ['-J'], tool: 'xz' },
    { name: 'zst.tar.zst', flag: ['--zstd'], tool: 'zstd' },
    { name: 'misnamed.tar.gz', flag: ['-J'], tool: 'xz' },
  ];
  for (const k of kinds) {
    it(`reads ${k.name}`, async (ctx) => {
      if (!hasTool(k.tool)) {
        if (process.env.CI === 'true') throw new Error(`${k.tool} missing`);
        ctx.skip();
      }
      const file = path.join(src, k.name);
      execFileSync('tar', ['-c', ...k.flag, '-f', file, '-C', path.join(src, 'tree'), '.']);
      const c = context();
      const { image, digest } = await tarballSource.resolve({ location: k.name }, { ...c, baseDir: src });
      expect(image.layers).toHaveLength(1);
      expect(digest).toBe(image.layers[0]!.diffId);
      const root = path.join(tmp(), 'rootfs');
      await materializeImage(c.store, image, root);
      expect(readFileSync(path.join(root, 'etc/os-release'), 'utf8')).toBe('ID=test\n');
      expect(statSync(path.join(root, 'bin/tool')).mode & 0o7777).toBe(0o4755);
    });
  }

  it('gives the same layer for the same content, whatever the compression', async () => {
    const file = path.join(src, 'again.tar');
    execFileSync('tar', ['-c', '-f', file, '-C', path.join(src, 'tree'), '.']);
    execFileSync('sh', ['-c', `gzip -c ${file} > ${file}.gz`]);
    const a = await tarballSource.resolve({ location: file }, context());
    const b = await tarballSource.resolve({ location: `${file}.gz` }, context());
    expect(a.image.layers[0]).toEqual(b.image.layers[0]);
  });

  it('verifies --sha256 and names both digests on a mismatch', async () => {
    const file = path.join(src, 'plain-sha.tar');
    execFileSync('tar', ['-c', '-f', file, '-C', path.join(src, 'tree'), '.']);
    const good = sha(file);
    await expect(tarballSource.resolve({ location: file, sha256: good }, context())).resolves.toBeDefined();
    const bad = '0'.repeat(64);
    await expect(tarballSource.resolve({ location: file, sha256: bad }, context())).rejects.toThrow(
      new RegExp(`sha256 mismatch .*expected ${bad}, got ${good}`),
    );
  });

  it('fails with a diagnostic on a file that is not a tar', async () => {
    const file = path.join(src, 'junk.tar');
    writeFileSync(file, 'this is not a tar archive'.repeat(40));
    await expect(tarballSource.resolve({ location: file }, context())).rejects.toThrow(
      /not a readable tar archive/,
    );
    await expect(
      tarballSource.resolve({ location: 'missing.tar' }, { ...context(), baseDir: src }),
    ).rejects.toThrow(/cannot read tarball/);
  });

  it('with a digest cache: converts while hashing on a worker when the file is new, reuses both after', async () => {
    const file = path.join(src, 'big.tar');
    // Above the digest cache's worker threshold (16 MiB), so the digest really comes from a worker thread.
    writeFileSync(path.join(src, 'tree/blob'), Buffer.alloc(17 << 20, 1));
    execFileSync('tar', ['-c', '-f', file, '-C', path.join(src, 'tree'), '.']);
    const c = context();
    const digests = new FileDigestCache(path.join(c.cacheDir, 'digests.json'));
    const ctx: SourceContext = {
      ...c,
      digestFile: (f) => digests.digest(f),
      knownDigest: (f) => digests.known(f),
    };
    expect(digests.known(file)).toBeUndefined();
    const cold = await tarballSource.resolve({ location: file }, ctx);
    expect(digests.known(file)).toBe(`sha256:${sha(file)}`);
    const warm = await tarballSource.resolve({ location: file }, ctx);
    expect(warm).toEqual(cold);
    // The same layer as the plain path (no digest cache: hash, then convert).
    expect((await tarballSource.resolve({ location: file }, context())).image.layers).toEqual(
      cold.image.layers,
    );
    const junk = path.join(src, 'junk-big.tar');
    writeFileSync(junk, Buffer.alloc(17 << 20, 0x41));
    await expect(tarballSource.resolve({ location: junk }, ctx)).rejects.toThrow(
      /not a readable tar archive/,
    );
  });
});

describe('FROM tarball <url>', () => {
  const src = tmp();
  let server: http.Server;
  let base: string;
  let requests: { url: string; conditional: boolean }[] = [];
  let body: Buffer;

  beforeAll(async () => {
    body = await collect(tarChunks([fileEntry('hello', 'from http')]));
    writeFileSync(path.join(src, 'x.tar'), body);
    server = http.createServer((req, res) => {
      requests.push({ url: req.url ?? '', conditional: req.headers['if-none-match'] !== undefined });
      if (req.url !== '/rootfs.tar') {
        res.writeHead(404).end();
        return;
      }
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('downloads once, caches by digest, revalidates without one', async () => {
    const c = context();
    requests = [];
    const hex = createHash('sha256').update(body).digest('hex');
    const first = await tarballSource.resolve({ location: `${base}/rootfs.tar`, sha256: hex }, c);
    const second = await tarballSource.resolve({ location: `${base}/rootfs.tar`, sha256: hex }, c);
    expect(second).toEqual(first);
    expect(requests).toHaveLength(1);
    await tarballSource.resolve({ location: `${base}/rootfs.tar` }, c);
    await tarballSource.resolve({ location: `${base}/rootfs.tar` }, c);
    // The first download (with --sha256) recorded the ETag: later ones without a digest revalidate (304).
    expect(requests.map((r) => r.conditional)).toEqual([false, true, true]);
    expect(readdirSync(path.join(c.store.dir, 'tmp'))).toEqual([]);
  });

  it('refuses a download whose sha256 differs, and a 404', async () => {
    const c = context();
    await expect(
      tarballSource.resolve({ location: `${base}/rootfs.tar`, sha256: 'f'.repeat(64) }, c),
    ).rejects.toThrow(/sha256 mismatch for http:.*expected f{64}, got [0-9a-f]{64}/);
    await expect(tarballSource.resolve({ location: `${base}/nope.tar` }, c)).rejects.toThrow(/HTTP 404/);
  });
});

describe('FROM tarball: hostile archives', () => {
  const dir = (p: string): TarEntrySpec => ({
    path: p,
    type: 'directory',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 1,
  });
  const sym = (p: string, t: string): TarEntrySpec => ({
    path: p,
    type: 'symlink',
    linkname: t,
    mode: 0o777,
    uid: 0,
    gid: 0,
    mtime: 1,
  });
  const hard = (p: string, t: string): TarEntrySpec => ({
    path: p,
    type: 'hardlink',
    linkname: t,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 1,
  });

  it('keeps every write inside the root, in the layer and on disk; devices stay in the layer', async () => {
    const outer = tmp('rootc-hostile-');
    const passwd = readFileSync('/etc/passwd');
    const bytes = await collect(
      tarChunks([
        dir('./'),
        fileEntry('../../escape', 'e'),
        fileEntry('/abs', 'a'),
        sym('etc', '/etc'),
        fileEntry('etc/passwd', 'evil'),
        sym('hostetc', '/etc'),
        fileEntry('hostetc/shadow', 'evil2'),
        sym('lib', '/usr/lib'),
        fileEntry('lib/libc.so', 'libc'),
        hard('pw', '../../etc/passwd'),
        dir('real'),
        sym('via', 'real'),
        fileEntry('via/file', 'through'),
        hard('hl', 'via/file'),
        {
          path: 'dev/console',
          type: 'char',
          devmajor: 5,
          devminor: 1,
          mode: 0o600,
          uid: 0,
          gid: 0,
          mtime: 1,
        },
        fileEntry('.wh.something', ''),
      ]),
    );
    const file = path.join(outer, 'hostile.tar');
    writeFileSync(file, bytes);
    const c = context();
    const { image } = await tarballSource.resolve({ location: file }, c);
    const layer = await listTar(await collect(await openLayerTar(c.store, image.layers[0]!)));
    const paths = layer.map((e) => e.path);
    // `etc -> /etc` is a loop inside the root: entries through it are dropped, as extraction would.
    expect(paths).toEqual([
      'escape',
      'abs',
      'etc',
      'hostetc',
      'lib',
      'usr/lib/libc.so',
      'real/',
      'via',
      'real/file',
      'hl',
      'dev/console',
    ]);
    expect(layer.find((e) => e.path === 'hl')).toMatchObject({ type: 'hardlink', linkname: 'real/file' });
    expect(layer.find((e) => e.path === 'dev/console')).toMatchObject({
      type: 'char',
      devmajor: 5,
      devminor: 1,
    });
    expect(c.warnings[0]!.message).toMatch(/too many levels/);
    expect(c.warnings[0]!.message).toMatch(/stored as usr\/lib\/libc.so/);

    const root = path.join(outer, 'root');
    const report = await materializeImage(c.store, image, root, { mknod: false });
    expect(readFileSync('/etc/passwd').equals(passwd)).toBe(true);
    expect(readdirSync(outer).sort()).toEqual(['hostile.tar', 'root']);
    expect(readFileSync(path.join(root, 'escape'), 'utf8')).toBe('e');
    expect(readFileSync(path.join(root, 'usr/lib/libc.so'), 'utf8')).toBe('libc');
    expect(readlinkSync(path.join(root, 'hostetc'))).toBe('/etc');
    expect(readFileSync(path.join(root, 'real/file'), 'utf8')).toBe('through');
    expect(statSync(path.join(root, 'hl')).ino).toBe(statSync(path.join(root, 'real/file')).ino);
    expect(existsSync(path.join(root, 'pw'))).toBe(false);
    expect(report.skippedNodes).toEqual([
      { path: '/dev/console', type: 'char', major: 5, minor: 1, mode: 0o600, uid: 0, gid: 0 },
    ]);
  });
});
