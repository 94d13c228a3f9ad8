/**
 * Issue 7: ids and device nodes in a rootless build's layers, and a root build never writing into a cache
 * another user owns. (A user without subordinate ids: single-id.test.ts.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  dockerLoad,
  dockerRun,
  requireTools,
  rootlessUser,
  run,
  runRootc,
  type TestUser,
  tempDir,
} from '../support/index.js';
import { EPOCH, makeBusyboxBase } from './fixture.js';

/** `tar -tvv --numeric-owner` of every layer of a docker archive, as `mode uid/gid size-or-dev path` lines. */
async function layerListings(archive: string): Promise<string[][]> {
  const dir = await tempDir('layers');
  await run('tar', ['-C', dir, '-xf', archive], { reject: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    Layers: string[];
  }[];
  const out: string[][] = [];
  for (const layer of manifest[0]!.Layers) {
    const r = await run('tar', ['-tvv', '--numeric-owner', '-f', path.join(dir, layer)], { reject: true });
    out.push(
      r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const f = l.split(/\s+/);
          // drwxr-xr-x 0/0 0 2023-11-14 22:13 path [-> target]; a node's size column is "major,minor".
          return [f[0], f[1], f[2], ...f.slice(5)].join(' ');
        }),
    );
  }
  return out;
}

describe('rootless ownership and device nodes', () => {
  if (!requireTools('root', 'rootless-user', 'newuidmap')) return;
  const user = rootlessUser()!;
  let ctx: string;
  beforeAll(async () => {
    ctx = await tempDir('own-ctx', { owner: user });
    await run('chmod', ['755', ctx], { reject: true });
    await makeBusyboxBase(ctx);
    writeFileSync(path.join(ctx, 'hello.txt'), 'hello\n');
    writeFileSync(
      path.join(ctx, 'nr.rootfile'),
      'FROM tarball base.tar\nCOPY --chown=1000:1000 hello.txt /h\n',
    );
    await run('chmod', ['-R', 'a+rX', ctx], { reject: true });
  }, 60_000);

  async function buildDocker(rootfile: string, asUser?: TestUser) {
    const dir = await tempDir('own', { owner: user });
    const rf = path.join(ctx, `${path.basename(dir)}.rootfile`);
    await run('sh', ['-c', 'cat > "$1" && chmod 644 "$1"', 'sh', rf], { input: rootfile, reject: true });
    const out = path.join(dir, 'img.tar');
    const r = await runRootc(
      [
        'build',
        '--progress',
        'plain',
        '-t',
        'rl/own:1',
        '-f',
        rf,
        '--output',
        `type=docker,dest=${out}`,
        ctx,
      ],
      {
        env: { SOURCE_DATE_EPOCH: EPOCH },
        ...(asUser ? { asUser } : {}),
      },
    );
    return { r, out };
  }

  it('RUN chown 1000:1000 as image root shows ids 1000 and 0 in the layer, never the caller’s or subordinate ids', async () => {
    const { r, out } = await buildDocker(
      'FROM tarball base.tar\nRUN mkdir /d && echo x > /d/f && chown 1000:1000 /d/f && touch /d/g && chown 0:5 /d/g\n',
      user,
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const layers = await layerListings(out);
    expect(layers[1]).toEqual(['drwxr-xr-x 0/0 0 d/', '-rw-r--r-- 1000/1000 2 d/f', '-rw-r--r-- 0/5 0 d/g']);
    // The base layer keeps every device node and the fifo as the tarball had them.
    expect(layers[0]).toEqual(
      expect.arrayContaining([
        'crw-rw-rw- 0/0 1,3 dev/null',
        'brw-rw-rw- 0/0 8,0 dev/sda',
        'prw-rw-rw- 0/0 0 dev/fifo0',
        'crw-rw-rw- 0/5 4,1 nodes/tty1',
        'drwxr-x--- 1000/1000 0 home/app/',
      ]),
    );
  }, 120_000);

  it('mknod in RUN: the node in the layer as root; rootless, a diagnostic that says why', async () => {
    const rootfile =
      'FROM tarball base.tar\nRUN mkdir /n && mknod -m 600 /n/null c 1 3 && chown 1000:1000 /n/null\n';
    const asRoot = await buildDocker(rootfile);
    expect(asRoot.r.exitCode, asRoot.r.stderr).toBe(0);
    expect((await layerListings(asRoot.out))[1]).toEqual([
      'drwxr-xr-x 0/0 0 n/',
      'crw------- 1000/1000 1,3 n/null',
    ]);
    const asUser = await buildDocker(rootfile, user);
    expect(asUser.r.exitCode).toBe(1);
    expect(asUser.r.stderr).toMatch(/a user namespace cannot create device nodes \(mknod\)/);
  }, 120_000);

  describe('docker', () => {
    if (!requireTools('docker')) return;
    it('sees the base tarball’s device nodes in a rootless build’s image', async () => {
      const { r, out } = await buildDocker('FROM tarball base.tar\nRUN touch /after\n', user);
      expect(r.exitCode, r.stderr).toBe(0);
      const { tags } = await dockerLoad(out);
      // docker mounts its own /dev over the image's: the nodes in /nodes are the ones it can show.
      const ls = await dockerRun(tags[0]!, ['/bin/ls', '-ln', '/nodes']);
      expect(ls.exitCode, ls.stderr).toBe(0);
      expect(ls.stdout).toMatch(/^crw-rw-rw-\s+1\s+0\s+0\s+1,\s+3 .* null$/m);
      expect(ls.stdout).toMatch(/^crw-rw-rw-\s+1\s+0\s+5\s+4,\s+1 .* tty1$/m);
    }, 120_000);
  });

  it('a root build refuses a cache another user owns, and leaves nothing there', async () => {
    const home = await tempDir('cache-owner', { owner: user });
    const r = await runRootc(['build', '-f', path.join(ctx, 'nr.rootfile'), ctx], {
      env: { XDG_CACHE_HOME: path.join(home, '.cache') },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/refusing to build as root into .*belongs to uid/);
    const left = await run('find', [home, '-mindepth', '1']);
    expect(left.stdout).toBe('');
  }, 60_000);
});
