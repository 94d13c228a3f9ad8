/**
 * Issue 7, point 4: a user WITHOUT subordinate ids builds in a single-id user namespace (only the caller,
 * as image root), owners other than root recorded in the `user.rootc.owner` xattr (umoci's rootless
 * approach). Builds without RUN give a root build's bytes in every output; a RUN gets the documented
 * diagnostic at its line, before any work.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireTools, run, runRootc, type TestUser, tempDir } from '../support/index.js';
import { allOutputs, digestsOf, EPOCH, makeBusyboxContext } from './fixture.js';

/** A tarball base with uid-1000 files and device nodes; COPY/ADD with --chown, USER, WORKDIR, REMOVE, metadata. */
const SINGLE = `FROM tarball base.tar
COPY --chown=1000:1000 hello.txt /home/app/hello.txt
COPY --chown=app hello.txt /opt/h2
ADD --chown=1000:5 hello.txt /opt/added/
ADD base.tar /unpacked/
USER app
WORKDIR /home/app/w
USER root
WORKDIR /srv/x
REMOVE /etc/junk /dev/zero /unpacked/nodes/tty1
LABEL a=b
ENV K=V
CMD ["/bin/sh"]
`;

/** Multi-stage: COPY --from a stage keeps its recorded owners (and --chown), onto scratch. */
const MULTI = `FROM tarball base.tar AS base
COPY --chown=1000:1000 hello.txt /out/a
FROM scratch
COPY --from=base /bin/busybox /bin/busybox
COPY --from=base /home/app /home/app
COPY --from=base --chown=1000:1000 /etc /etc2
COPY --from=base /out /out
`;

/** An image base (the docker output of SINGLE, built as root) with COPY --chown on top. */
const IMAGE = `FROM docker-archive img.tar
COPY --chown=1000:1000 hello.txt /home/app/w/again
REMOVE /dev/sda
`;

const RUN = `FROM tarball base.tar
COPY --chown=1000:1000 hello.txt /h
RUN chown 1000:1000 /h
`;

describe('rootless builds for a user without subordinate ids (single-id mapping)', () => {
  if (!requireTools('root')) return;
  const name = `rootc-si${process.pid % 100000}`;
  let user: TestUser;
  let ctx: string;
  beforeAll(async () => {
    await run('useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', name], { reject: true });
    // useradd may give a new user a range itself (SUB_UID_COUNT): take it away.
    for (const f of ['/etc/subuid', '/etc/subgid'])
      await run('sed', ['-i', `/^${name}:/d`, f], { reject: true });
    const uid = Number((await run('id', ['-u', name], { reject: true })).stdout.trim());
    const gid = Number((await run('id', ['-g', name], { reject: true })).stdout.trim());
    const home = await tempDir('si-home', { owner: { uid, gid } });
    user = { name, uid, gid, home, subuid: { start: 0, count: 0 }, subgid: { start: 0, count: 0 } };
    ctx = await makeBusyboxContext(await tempDir('si-ctx'));
    for (const [f, text] of Object.entries({
      'Rootfile.single': SINGLE,
      'Rootfile.multi2': MULTI,
      'Rootfile.run': RUN,
      'Rootfile.deb': 'FROM debootstrap bookworm --variant=minbase\nCOPY hello.txt /h\n',
      'Rootfile.link': 'FROM scratch\nCOPY --chown=1000:1000 links /d\n',
    }))
      writeFileSync(path.join(ctx, f), text);
    mkdirSync(path.join(ctx, 'links'));
    symlinkSync('../hello.txt', path.join(ctx, 'links/l'));
    await run('chmod', ['-R', 'a+rX', ctx], { reject: true });
  }, 60_000);
  afterAll(async () => {
    await run('userdel', [name]);
  });

  async function build(
    rootfile: string,
    asUser: TestUser | undefined,
    env: Record<string, string> = {},
    context = ctx,
  ) {
    const out = await tempDir('si-out', asUser ? { owner: asUser } : {});
    const r = await runRootc(
      ['build', '--progress', 'plain', '-t', 'example.com/si:1', '-f', rootfile, ...allOutputs(out), context],
      { env: { SOURCE_DATE_EPOCH: EPOCH, ...env }, ...(asUser ? { asUser } : {}) },
    );
    return { r, out };
  }

  async function sameAsRoot(rootfile: string, context = ctx) {
    const [asRoot, asUser] = await Promise.all([
      build(rootfile, undefined, {}, context),
      build(rootfile, user, {}, context),
    ]);
    expect(asRoot.r.exitCode, asRoot.r.stderr).toBe(0);
    expect(asUser.r.exitCode, asUser.r.stderr).toBe(0);
    const d = digestsOf(asRoot.out);
    expect(Object.keys(d)).toEqual(['img.aci', 'img.tar', 'oci', 'oci.tar', 'rootfs.tar']);
    expect(digestsOf(asUser.out)).toEqual(d);
    return { asRoot, asUser };
  }

  it('a tarball base with uid-1000 files and device nodes, COPY/ADD --chown, ADD of a tar, USER, WORKDIR, REMOVE: root’s digests', async () => {
    const { asRoot } = await sameAsRoot(path.join(ctx, 'Rootfile.single'));
    // The same on the copy snapshot driver (a fresh cache, so its steps run).
    const cache = await tempDir('si-cache', { owner: user });
    const copy = await build(path.join(ctx, 'Rootfile.single'), user, {
      ROOTC_SNAPSHOTTER: 'copy',
      XDG_CACHE_HOME: cache,
    });
    expect(copy.r.exitCode, copy.r.stderr).toBe(0);
    expect(digestsOf(copy.out)).toEqual(digestsOf(asRoot.out));
    // Its trees live apart from full-mapping ones.
    expect(readdirSync(path.join(cache, 'rootc/snapshots')).filter((n) => !n.startsWith('.'))).toContain(
      'copy-single',
    );
    // An image base made from that output.
    await run('cp', [path.join(asRoot.out, 'img.tar'), path.join(ctx, 'img.tar')], { reject: true });
    writeFileSync(path.join(ctx, 'Rootfile.image'), IMAGE);
    await run('chmod', ['-R', 'a+rX', ctx], { reject: true });
    await sameAsRoot(path.join(ctx, 'Rootfile.image'));
  }, 120_000);

  it('multi-stage onto scratch: COPY --from a stage keeps the recorded owners; samples/hello', async () => {
    await sameAsRoot(path.join(ctx, 'Rootfile.multi2'));
    const hello = path.join(repoRoot, 'samples/hello');
    await sameAsRoot(path.join(hello, 'Rootfile'), hello);
  }, 120_000);

  it('RUN, FROM debootstrap, a symlink given to uid 1000: the documented diagnostic at the line, exit 1, nothing left behind', async () => {
    const cache = await tempDir('si-cache', { owner: user });
    const { r, out } = await build(path.join(ctx, 'Rootfile.run'), user, { XDG_CACHE_HOME: cache });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Rootfile.run:3:1: error: RUN cannot run correctly here`);
    expect(r.stderr).toContain('no subordinate ids');
    expect(r.stderr).toContain(`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(readdirSync(out)).toEqual([]);
    for (const dir of ['snapshots', 'tmp', 'steps']) {
      const p = path.join(cache, 'rootc', dir);
      expect(existsSync(p) ? readdirSync(p) : [], dir).toEqual([]);
    }
    const deb = await build(path.join(ctx, 'Rootfile.deb'), user, { XDG_CACHE_HOME: cache });
    expect(deb.r.exitCode).toBe(1);
    expect(deb.r.stderr).toContain('Rootfile.deb:1:1: error: FROM debootstrap cannot run correctly here');
    expect(deb.r.stderr).toContain(`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}`);
    // User xattrs cannot be set on a symlink: its owner cannot be recorded (found when the COPY runs).
    const link = await build(path.join(ctx, 'Rootfile.link'), user, { XDG_CACHE_HOME: cache });
    expect(link.r.exitCode).toBe(1);
    expect(link.r.stderr).toContain('Rootfile.link:2:1: error: cannot give /d/l the owner 1000:1000');
    expect(link.r.stderr).toContain(
      `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}`,
    );
    expect(link.r.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});
