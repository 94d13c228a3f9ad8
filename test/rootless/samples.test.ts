/**
 * Issue 7, "every sample, every output type": the samples that the e2e suite builds as root, built again by
 * the unprivileged user rootc-test, each output type's digest equal to the root build's (same epoch, separate
 * caches, as in outputs.test.ts), plus FROM of a registry image.
 *
 * - debian-minimal: the user debootstraps bookworm minbase itself (its own cold debootstrap, device nodes made
 *   by the mknod shim of sources/debootstrap.ts); its base layer is compared entry by entry with root's, then
 *   the outputs byte for byte. Root's side uses the run's shared debootstrap cache (samples.test.ts, bases.test.ts).
 * - busybox-glibc, static-app: a second cold debootstrap of their bases (with busybox; with gcc) would only
 *   repeat the one above at several minutes each, so the user's fresh cache gets root's debootstrap *source*
 *   entry (the index and its one layer blob, as a downloaded base tarball would be shared) and nothing else:
 *   every build step (materializing the base, COPY --deps, RUN gcc, the INCLUDEs) runs rootless.
 * - gentoo-stage3: from the signed stage3-like release bases.test.ts serves on 127.0.0.1.
 * - FROM <registry>/image: an image with device nodes pushed by root to a registry of this test, pulled by both.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { makeStage3Release } from '../sources/stage3-fixture.js';
import {
  repoRoot,
  requireTools,
  rootlessUser,
  run,
  runRootc,
  startRegistry,
  type TestUser,
  tempDir,
  tempDirSync,
} from '../support/index.js';
import { allOutputs, digestsOf, EPOCH, makeBusyboxContext } from './fixture.js';

const BUILD_TIMEOUT = 1_500_000;

/**
 * The epoch of the debootstrap samples' builds: the one e2e/samples and e2e/bases build with (none, so 0).
 * A debootstrap tree is made for, and cached by, the build's epoch, so with the same one root's builds here
 * reuse the run's shared debootstrap instead of running another.
 */
const DEBOOTSTRAP_EPOCH = { SOURCE_DATE_EPOCH: '0' };

/** Root's debootstrap cache for this run (the one samples.test.ts and bases.test.ts share). */
function rootDebootstrapCache(): string {
  const fixed = process.env.ROOTC_TEST_DEBOOTSTRAP_CACHE;
  if (fixed) return fixed;
  const shared = process.env.ROOTC_TEST_STATE_DIR;
  return shared ? path.join(shared, 'debootstrap-cache') : tempDirSync('deboot-root-cache');
}

interface DebootstrapIndex {
  args: { suite: string; variant: string; include: string[] };
  layer: { digest: string };
}

/** The debootstrap source indexes in a cache (XDG_CACHE_HOME) whose packages are `include`. */
function debootstrapIndexes(
  cacheHome: string,
  include: string[],
): { file: string; index: DebootstrapIndex }[] {
  const dir = path.join(cacheHome, 'rootc', 'sources', 'debootstrap');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({
      file: path.join(dir, f),
      index: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as DebootstrapIndex,
    }))
    .filter(({ index }) => index.args.include.join(',') === [...include].sort().join(','));
}

const blobPath = (cacheHome: string, digest: string) =>
  path.join(cacheHome, 'rootc', 'blobs', 'sha256', digest.replace(/^sha256:/, ''));

/** Copies root's debootstrap source entries for `include` (index + layer blob) into the user's cache. */
async function shareDebootstrapBase(from: string, toCacheHome: string, user: TestUser, include: string[]) {
  const found = debootstrapIndexes(from, include);
  expect(found.length, `no debootstrap index for --include=${include} in ${from}`).toBeGreaterThan(0);
  const indexDir = path.join(toCacheHome, 'rootc', 'sources', 'debootstrap');
  const blobDir = path.join(toCacheHome, 'rootc', 'blobs', 'sha256');
  mkdirSync(indexDir, { recursive: true });
  mkdirSync(blobDir, { recursive: true });
  for (const { file, index } of found) {
    await run('cp', [file, indexDir], { reject: true });
    await run('cp', [blobPath(from, index.layer.digest), blobDir], { reject: true });
  }
  await run('chown', ['-R', `${user.uid}:${user.gid}`, path.join(toCacheHome, 'rootc')], { reject: true });
}

interface LayerEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  dev: string;
  link: string;
  sha256: string;
}

/** Every entry of a layer blob (plain or gzip tar) without its mtime, a file's content as its sha256. */
async function layerEntries(file: string): Promise<Map<string, LayerEntry>> {
  const entries = new Map<string, LayerEntry>();
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    const hash = createHash('sha256');
    stream.on('data', (d: Buffer) => hash.update(d));
    stream.on('end', () => {
      entries.set(h.name.replace(/^\.?\/+/, '').replace(/\/$/, ''), {
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        dev: `${h.devmajor ?? 0},${h.devminor ?? 0}`,
        link: h.linkname ?? '',
        sha256: hash.digest('hex'),
      });
      next();
    });
    stream.resume();
  });
  const magic = Buffer.alloc(2);
  const fd = openSync(file, 'r');
  readSync(fd, magic, 0, 2, 0);
  closeSync(fd);
  const gz = magic.equals(Buffer.from([0x1f, 0x8b]));
  await (gz
    ? pipeline(createReadStream(file), createGunzip(), extract)
    : pipeline(createReadStream(file), extract));
  return entries;
}

/** Files two debootstraps of the same packages write differently (logs with times, ld.so's inode cache). */
const VOLATILE = /^var\/(log\/[^/]+\.log|cache\/ldconfig\/aux-cache)$/;

/** What differs between two debootstrap layers, ignoring mtimes and the contents of VOLATILE files. */
function treeDifferences(a: Map<string, LayerEntry>, b: Map<string, LayerEntry>): string[] {
  const out: string[] = [];
  for (const [p, ea] of a) {
    const eb = b.get(p);
    if (!eb) out.push(`only in root's: ${p}`);
    else {
      const strip = (e: LayerEntry) => (VOLATILE.test(p) ? { ...e, sha256: '' } : e);
      if (JSON.stringify(strip(ea)) !== JSON.stringify(strip(eb)))
        out.push(`${p}: root ${JSON.stringify(ea)} rootless ${JSON.stringify(eb)}`);
    }
  }
  for (const p of b.keys()) if (!a.has(p)) out.push(`only in rootless's: ${p}`);
  return out;
}

describe('rootless builds of the samples give the same bytes as root builds', () => {
  if (!requireTools('root', 'rootless-user', 'newuidmap')) return;
  const user = rootlessUser()!;

  /** Builds as root, then as the user (in that order: root's may fill a cache the user's is seeded from). */
  async function both(
    args: string[],
    context: string,
    opts: {
      rootCache?: string;
      beforeUser?: (userCache: string) => Promise<void>;
      env?: Record<string, string>;
    } = {},
  ) {
    const [rootOut, userOut] = [await tempDir('out-root'), await tempDir('out-user', { owner: user })];
    const userCache = await tempDir('cache-user', { owner: user });
    const env = { SOURCE_DATE_EPOCH: EPOCH, ...opts.env };
    const build = ['build', '--progress', 'plain', '-t', 'example.com/t:1', ...args];
    const t0 = Date.now();
    const asRoot = await runRootc([...build, ...allOutputs(rootOut), context], {
      env: { ...env, ...(opts.rootCache ? { XDG_CACHE_HOME: opts.rootCache } : {}) },
      timeout: BUILD_TIMEOUT,
    });
    expect(asRoot.exitCode, asRoot.stderr).toBe(0);
    const t1 = Date.now();
    await opts.beforeUser?.(userCache);
    const asUser = await runRootc([...build, ...allOutputs(userOut), context], {
      env: { ...env, XDG_CACHE_HOME: userCache },
      asUser: user,
      timeout: BUILD_TIMEOUT,
    });
    expect(asUser.exitCode, asUser.stderr).toBe(0);
    // A fresh cache: the user's build ran its steps itself.
    expect(asUser.stdout + asUser.stderr).toMatch(/cache miss/);
    process.stdout.write(
      `[rootc-test] rootless ${path.basename(context)}: root build ${t1 - t0} ms, rootless ${Date.now() - t1} ms\n`,
    );
    const r = digestsOf(rootOut);
    expect(Object.keys(r)).toEqual(['img.aci', 'img.tar', 'oci', 'oci.tar', 'rootfs.tar']);
    expect(digestsOf(userOut)).toEqual(r);
    return { asRoot, asUser, userCache };
  }

  describe('the samples that debootstrap', () => {
    if (!requireTools('debootstrap')) return;
    const rootCache = rootDebootstrapCache();

    it(
      'debian-minimal, the rootless user running debootstrap itself: same base tree, same outputs',
      async () => {
        const { asUser, userCache } = await both([], path.join(repoRoot, 'samples/debian-minimal'), {
          rootCache,
          env: DEBOOTSTRAP_EPOCH,
        });
        // The user's debootstrap made /dev/null & co. as placeholders (then REMOVE /dev/* dropped them).
        expect(asUser.stderr).toMatch(/device node\(s\) could not be created on disk/);
        const [rootIndex] = debootstrapIndexes(rootCache, []);
        const [userIndex] = debootstrapIndexes(userCache, []);
        const rootTree = await layerEntries(blobPath(rootCache, rootIndex!.index.layer.digest));
        const userTree = await layerEntries(blobPath(userCache, userIndex!.index.layer.digest));
        expect(userTree.get('dev/null')).toMatchObject({ type: 'character-device', mode: 0o666, dev: '1,3' });
        expect(userTree.get('etc/shadow')).toMatchObject({ uid: 0, gid: 42, mode: 0o640 });
        const diff = treeDifferences(rootTree, userTree);
        const dpkg = diff.some((d) => d.startsWith('var/lib/dpkg/status:'));
        expect(
          diff,
          dpkg
            ? 'different package sets: root tree made before a mirror update (stale ROOTC_TEST_DEBOOTSTRAP_CACHE?)'
            : undefined,
        ).toEqual([]);
      },
      BUILD_TIMEOUT,
    );

    for (const [sample, include] of [
      ['busybox-glibc', ['busybox']],
      ['static-app', ['gcc', 'libc6-dev']],
    ] as const) {
      it(
        `${sample}, on root's debootstrap base`,
        async () => {
          await both([], path.join(repoRoot, 'samples', sample), {
            rootCache,
            env: DEBOOTSTRAP_EPOCH,
            beforeUser: (userCache) => shareDebootstrapBase(rootCache, userCache, user, [...include]),
          });
        },
        BUILD_TIMEOUT,
      );
    }
  });

  describe('gentoo-stage3', () => {
    if (!requireTools('gpg', 'gpgv', 'xz')) return;
    it('from a signed stage3-like release on 127.0.0.1 (device nodes in the tarball)', async () => {
      const dir = await tempDir('rootless-gentoo');
      const rel = await makeStage3Release(dir);
      try {
        await run('chmod', ['755', dir], { reject: true });
        await run('chmod', ['644', rel.keyring], { reject: true });
        const { asUser } = await both(
          ['--build-arg', `STAGE3_URL=${rel.url('good')}`, '--build-arg', `KEYRING=${rel.keyring}`],
          path.join(repoRoot, 'samples/gentoo-stage3'),
        );
        expect(asUser.stderr).toMatch(/device node\(s\) could not be created on disk/);
      } finally {
        await rel.close();
      }
    }, 300_000);
  });

  describe('FROM a registry image', () => {
    if (!requireTools('registry', 'busybox')) return;
    it('an image with device nodes, pushed by root, pulled by both; RUN and REMOVE on it', async () => {
      const ctx = await makeBusyboxContext(await tempDir('rootless-reg'));
      const reg = await startRegistry();
      try {
        const base = `${reg.address}/rootless/base:1`;
        const push = await runRootc(['build', '-t', base, '--push', ctx], {
          env: { SOURCE_DATE_EPOCH: EPOCH },
        });
        expect(push.exitCode, push.stderr).toBe(0);
        writeFileSync(
          path.join(ctx, 'Rootfile.reg'),
          `FROM ${base}\nRUN touch /a && rm /nodes/tty1 && chown 1000:1000 /a\nREMOVE /dev/sda\n`,
        );
        await run('chmod', ['a+r', path.join(ctx, 'Rootfile.reg')], { reject: true });
        await both(['-f', path.join(ctx, 'Rootfile.reg')], ctx);
      } finally {
        await reg.stop();
      }
    }, 300_000);
  });
});
