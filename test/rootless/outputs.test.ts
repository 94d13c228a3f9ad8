/**
 * Issue 7: the unprivileged user of the test setup (rootc-test, with subordinate ids) builds the same
 * Rootfiles as root, every output type, each with its own cache and the same SOURCE_DATE_EPOCH; every
 * output must be byte for byte the root build's.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireTools, rootlessUser, run, runRootc, tempDir } from '../support/index.js';
import { allOutputs, digestsOf, EPOCH, makeBusyboxContext } from './fixture.js';

describe('rootless builds give the same bytes as root builds', () => {
  if (!requireTools('root', 'rootless-user', 'newuidmap')) return;
  const user = rootlessUser()!;
  let ctx: string;
  beforeAll(async () => {
    ctx = await makeBusyboxContext(await tempDir('rootless-ctx'));
  }, 60_000);

  async function both(
    args: string[],
    context: string,
    extraEnv: Record<string, string> = {},
    freshCaches = false,
  ) {
    const [rootOut, userOut] = [await tempDir('out-root'), await tempDir('out-user', { owner: user })];
    const env = { SOURCE_DATE_EPOCH: EPOCH, ...extraEnv };
    const rootEnv = freshCaches ? { ...env, XDG_CACHE_HOME: await tempDir('cache-root') } : env;
    const userEnv = freshCaches
      ? { ...env, XDG_CACHE_HOME: await tempDir('cache-user', { owner: user }) }
      : env;
    const build = ['build', '--progress', 'plain', '-t', 'example.com/t:1', ...args];
    const [asRoot, asUser] = await Promise.all([
      runRootc([...build, ...allOutputs(rootOut), context], { env: rootEnv }),
      runRootc([...build, ...allOutputs(userOut), context], { env: userEnv, asUser: user }),
    ]);
    if (freshCaches) expect(asUser.stderr).toMatch(/cache miss/);
    expect(asRoot.exitCode, asRoot.stderr).toBe(0);
    expect(asUser.exitCode, asUser.stderr).toBe(0);
    const r = digestsOf(rootOut);
    expect(Object.keys(r)).toEqual(['img.aci', 'img.tar', 'oci', 'oci.tar', 'rootfs.tar']);
    expect(digestsOf(userOut)).toEqual(r);
    return { asRoot, asUser, rootOut, userOut };
  }

  it('samples/hello (COPY --from=host --deps, heredocs, WORKDIR)', async () => {
    await both([], path.join(repoRoot, 'samples/hello'));
  }, 170_000);

  it('busybox tarball with device nodes: RUN, COPY --chown, USER, WORKDIR, REMOVE', async () => {
    const { asUser } = await both([], ctx);
    // The base's nodes could not be made on disk; they stay in the layers (one warning).
    expect(asUser.stderr).toMatch(/device node\(s\) could not be created on disk/);
  }, 170_000);

  it('the same on the copy snapshot driver', async () => {
    // Fresh caches: with the shared ones every step would be a cache hit and no driver would run.
    await both([], ctx, { ROOTC_SNAPSHOTTER: 'copy' }, true);
  }, 170_000);

  it('image sources (docker-archive, oci, aci) made from the busybox build, then RUN and REMOVE of a device node', async () => {
    const { rootOut } = await both(['-f', path.join(ctx, 'Rootfile')], ctx);
    const src = await tempDir('rootless-src');
    await run('cp', ['-r', `${rootOut}/img.tar`, `${rootOut}/oci`, `${rootOut}/img.aci`, src], {
      reject: true,
    });
    const rootfiles: Record<string, string> = {
      'Rootfile.docker': 'FROM docker-archive img.tar\nRUN touch /a && rm /nodes/tty1\nREMOVE /dev/sda\n',
      'Rootfile.oci': 'FROM oci oci\nRUN touch /a\nREMOVE /dev/sda\n',
      'Rootfile.aci': 'FROM aci img.aci\nRUN touch /a\nREMOVE /dev/sda\n',
    };
    for (const [name, text] of Object.entries(rootfiles)) writeFileSync(path.join(src, name), text);
    await run('chmod', ['-R', 'a+rX', src], { reject: true });
    for (const name of Object.keys(rootfiles)) await both(['-f', path.join(src, name)], src);
  }, 170_000);

  it('multi-stage (COPY --from a stage, --chown), ADD of a local tar with device nodes', async () => {
    await both(['-f', path.join(ctx, 'Rootfile.multi')], ctx);
  }, 170_000);
});
