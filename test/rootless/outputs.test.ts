/**
 * Issue 7: the unprivileged user of the test setup (rootc-test, with subordinate ids) builds the same
 * Rootfiles as root, every output type, each with its own cache and the same SOURCE_DATE_EPOCH; every
 * output must be byte for byte the root build's.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireTools, rootlessUser, runRootc, tempDir } from '../support/index.js';
import { allOutputs, digestsOf, EPOCH, makeBusyboxContext } from './fixture.js';

describe('rootless builds give the same bytes as root builds', () => {
  if (!requireTools('root', 'rootless-user', 'newuidmap')) return;
  const user = rootlessUser()!;
  let ctx: string;
  beforeAll(async () => {
    ctx = await makeBusyboxContext(await tempDir('rootless-ctx'));
  }, 60_000);

  async function both(args: string[], context: string) {
    const [rootOut, userOut] = [await tempDir('out-root'), await tempDir('out-user', { owner: user })];
    const env = { SOURCE_DATE_EPOCH: EPOCH };
    const [asRoot, asUser] = await Promise.all([
      runRootc(
        ['build', '--progress', 'plain', '-t', 'example.com/t:1', ...allOutputs(rootOut), ...args, context],
        {
          env,
        },
      ),
      runRootc(
        ['build', '--progress', 'plain', '-t', 'example.com/t:1', ...allOutputs(userOut), ...args, context],
        {
          env,
          asUser: user,
        },
      ),
    ]);
    expect(asRoot.exitCode, asRoot.stderr).toBe(0);
    expect(asUser.exitCode, asUser.stderr).toBe(0);
    const r = digestsOf(rootOut);
    expect(Object.keys(r)).toEqual(['img.aci', 'img.tar', 'oci', 'oci.tar', 'rootfs.tar']);
    expect(digestsOf(userOut)).toEqual(r);
    return { asRoot, asUser, userOut };
  }

  it('samples/hello (COPY --from=host --deps, heredocs, WORKDIR)', async () => {
    await both([], path.join(repoRoot, 'samples/hello'));
  }, 170_000);

  it('busybox tarball with device nodes: RUN, COPY --chown, USER, WORKDIR, REMOVE', async () => {
    const { asUser } = await both([], ctx);
    // The base's nodes could not be made on disk; they stay in the layers (one warning).
    expect(asUser.stderr).toMatch(/device node\(s\) could not be created on disk/);
  }, 170_000);

  it('multi-stage (COPY --from a stage, --chown)', async () => {
    await both(['-f', path.join(ctx, 'Rootfile.multi')], ctx);
  }, 170_000);
});
