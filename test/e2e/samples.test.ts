/**
 * Every sample builds, loads into a real dockerd and prints what its README says.
 * The debootstrap-based samples share one rootc cache for the whole run (the one test/e2e/bases.test.ts uses
 * too), so each distinct `FROM debootstrap …` is paid for once per run; each build's time is logged.
 * debian-minimal (plain minbase, as bases.test.ts) comes last, by when that file has usually made the tree.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type DockerImage,
  dockerInspect,
  dockerLoad,
  dockerRun,
  repoRoot,
  requireTools,
  runRootc,
  tempDir,
  uniqueRef,
} from '../support/index.js';

/**
 * XDG_CACHE_HOME shared by every test of this run that debootstraps (see bases.test.ts), or the one
 * ROOTC_TEST_DEBOOTSTRAP_CACHE names (kept between runs: a rerun skips debootstrap entirely).
 */
function debootstrapCacheEnv(): Record<string, string> | undefined {
  const fixed = process.env.ROOTC_TEST_DEBOOTSTRAP_CACHE;
  if (fixed) return { XDG_CACHE_HOME: fixed };
  const shared = process.env.ROOTC_TEST_STATE_DIR;
  return shared ? { XDG_CACHE_HOME: path.join(shared, 'debootstrap-cache') } : undefined;
}

/** Builds samples/NAME into a docker archive, loads it; the image's ref and inspect data. */
async function buildSample(
  name: string,
  env?: Record<string, string>,
): Promise<{ ref: string; image: DockerImage }> {
  const out = await tempDir(`sample-${name}`);
  const ref = uniqueRef(name);
  const t0 = Date.now();
  const r = await runRootc(
    [
      'build',
      path.join(repoRoot, 'samples', name),
      '-t',
      ref,
      '--progress=plain',
      '-o',
      `type=docker,dest=${out}/${name}.tar`,
    ],
    { timeout: 1_500_000, ...(env ? { env } : {}) },
  );
  expect(r.exitCode, r.stderr).toBe(0);
  await dockerLoad(path.join(out, `${name}.tar`));
  const image = await dockerInspect(ref);
  process.stdout.write(
    `[rootc-test] samples/${name}: built in ${Date.now() - t0} ms, ${image.Size} bytes, ${image.RootFS.Layers.length} layers\n`,
  );
  return { ref, image };
}

describe('samples/hello', () => {
  if (!requireTools('docker', 'root')) return;
  it('builds from the host with --deps, without network, and runs in docker', async () => {
    const { ref } = await buildSample('hello');
    const run = await dockerRun(ref);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^Hello from a rootc image: Linux, uid 0, 7 programs$/);
  });
});

describe('samples that debootstrap', () => {
  if (!requireTools('docker', 'debootstrap', 'root')) return;

  it('busybox-glibc: Debian glibc busybox in a scratch image, under 10 MB, its applets run', async () => {
    const { ref, image } = await buildSample('busybox-glibc', debootstrapCacheEnv());
    expect(image.Size).toBeLessThan(10_000_000);
    const run = await dockerRun(ref);
    expect(run.exitCode, run.stderr).toBe(0);
    // The glibc loader answers: this busybox is the dynamically linked one, not busybox-static.
    expect(run.stdout).toMatch(
      /^BusyBox v1\.\d+\.\d+ on ld\.so \(Debian GLIBC 2\.\d+[^)]*\) stable release version 2\.\d+\.\n$/,
    );
    const applets = await dockerRun(ref, ['sh', '-c', 'echo one two | wc -w; readlink /bin/ls']);
    expect(applets.exitCode, applets.stderr).toBe(0);
    expect(applets.stdout).toBe('2\n/bin/busybox\n');
    // glibc looks the user up through nsswitch.conf (glibc-runtime) in /etc/passwd (nonroot).
    const id = await dockerRun(ref, ['id'], { args: ['--user', '65532'] });
    expect(id.stdout).toBe('uid=65532(nonroot) gid=65532(nonroot) groups=65532(nonroot)\n');
  }, 1_500_000);

  it('static-app: only the static binary (and passwd/group) in the image, run as nonroot', async () => {
    const { ref, image } = await buildSample('static-app', debootstrapCacheEnv());
    expect(image.Size).toBeLessThan(2_000_000);
    const run = await dockerRun(ref);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('Hello from a static C program: Linux, pid 1, uid 65532\n');
    // No shell, no loader: nothing but /hello can run.
    const sh = await dockerRun(ref, [], { args: ['--entrypoint', '/bin/sh'] });
    expect(sh.exitCode).not.toBe(0);
  }, 1_500_000);

  it('debian-minimal: one layer, no docs, a non-root user, under 80 MB', async () => {
    const { ref, image } = await buildSample('debian-minimal', debootstrapCacheEnv());
    expect(image.RootFS.Layers).toHaveLength(1);
    expect(image.Config.User).toBe('app');
    expect(image.Size).toBeLessThan(80_000_000);
    const run = await dockerRun(ref);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^Hello from Debian GNU\/Linux 12 \(bookworm\) as app \(1000\), \d+ packages, 0 doc dirs\n$/,
    );
    const apt = await dockerRun(ref, ['apt-get', '--version']);
    expect(apt.stdout).toMatch(/^apt 2\./);
    // Flattening kept modes and owners: su is still setuid root, the home belongs to app.
    const stat = await dockerRun(ref, ['stat', '-c', '%a %U', '/usr/bin/su', '/home/app']);
    expect(stat.stdout).toBe('4755 root\n755 app\n');
  }, 1_500_000);
});
