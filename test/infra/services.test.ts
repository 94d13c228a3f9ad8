/**
 * Proves the test infrastructure itself: every real tool the end-to-end suites rely on is here and
 * works. If this file fails, look at the setup (scripts/setup.sh) before at rootc.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  actool,
  docker,
  dockerImport,
  dockerInspect,
  dockerLoad,
  dockerRun,
  registryAddress,
  requireTools,
  rootlessUser,
  run,
  runAs,
  runRootc,
  skopeo,
  skopeoInspect,
  startRegistry,
  tempDir,
  umoci,
  umociUnpack,
  uniqueRef,
} from '../support/index.js';

/** A rootfs tar holding a static busybox as /bin/busybox and /bin/sh, made with GNU tar. */
async function busyboxRootfsTar(): Promise<string> {
  const dir = await tempDir('bb-rootfs');
  const root = join(dir, 'root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  execFileSync('chmod', ['0755', join(root, 'bin', 'busybox')]);
  symlinkSync('busybox', join(root, 'bin', 'sh'));
  mkdirSync(join(root, 'etc'));
  const tar = join(dir, 'rootfs.tar');
  await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tar, '.']);
  return tar;
}

describe('dockerd', () => {
  if (!requireTools('docker', 'busybox', 'tar')) return;
  let ref: string;

  beforeAll(async () => {
    ref = uniqueRef('busybox');
    await dockerImport(await busyboxRootfsTar(), ref, { changes: ['CMD ["/bin/sh"]', 'ENV GREETING=hello'] });
  });

  it('answers docker version with a server version', async () => {
    const r = await docker(['version', '--format', '{{.Server.Version}}']);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+/);
  });

  it('runs an imported busybox rootfs, with its config', async () => {
    const r = await dockerRun(ref, ['/bin/sh', '-c', 'echo "$GREETING from $(busybox uname -s)"; exit 3']);
    expect(r.stdout).toBe('hello from Linux\n');
    expect(r.exitCode).toBe(3);
    const img = await dockerInspect(ref);
    expect(img.Config.Cmd).toEqual(['/bin/sh']);
    expect(img.Config.Env).toContain('GREETING=hello');
    expect(img.RootFS.Layers).toHaveLength(1);
  });

  it('gives containers no network but loopback', async () => {
    const r = await dockerRun(ref, ['busybox', 'ls', '/sys/class/net']);
    expect(r.stdout.trim().split(/\s+/)).toEqual(['lo']);
  });

  it('passes stdin through', async () => {
    const r = await dockerRun(ref, ['busybox', 'wc', '-c'], { input: 'abcd' });
    expect(r.stdout.trim()).toBe('4');
  });

  it('round-trips docker save / docker load', async () => {
    const dir = await tempDir('save');
    const archive = join(dir, 'img.tar');
    await docker(['save', '-o', archive, ref]);
    await docker(['rmi', ref]);
    const loaded = await dockerLoad(archive);
    expect(loaded.tags).toEqual([ref]);
    expect(loaded.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await dockerRun(ref, ['busybox', 'true'])).exitCode).toBe(0);
  });
});

describe('registry and skopeo', () => {
  if (!requireTools('registry', 'skopeo', 'docker', 'busybox', 'tar', 'htpasswd')) return;

  it('answers GET /v2/ on 127.0.0.1', async () => {
    const address = await registryAddress();
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const res = await fetch(`http://${address}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('takes an image copied by skopeo from dockerd and gives it back', async () => {
    const ref = uniqueRef('pushed');
    await dockerImport(await busyboxRootfsTar(), ref, { changes: ['CMD ["/bin/sh"]'] });
    const dir = await tempDir('skopeo');
    const archive = join(dir, 'img.tar');
    await docker(['save', '-o', archive, ref]);
    const address = await registryAddress();
    const repo = `${address}/${ref.replace(/:latest$/, '')}:v1`;
    await skopeo(['copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${repo}`]);
    const info = await skopeoInspect(`docker://${repo}`);
    expect(info.Os).toBe('linux');
    expect(info.Layers).toHaveLength(1);
    const config = await skopeoInspect(`docker://${repo}`, { config: true });
    expect((config.config as { Cmd: string[] }).Cmd).toEqual(['/bin/sh']);
    // And back out through an OCI layout.
    await skopeo(['copy', '--src-tls-verify=false', `docker://${repo}`, `oci:${join(dir, 'layout')}:v1`]);
    expect(existsSync(join(dir, 'layout', 'index.json'))).toBe(true);
  });

  it('starts a private registry with basic auth on demand', async () => {
    const dir = await tempDir('auth-registry');
    const htpasswd = join(dir, 'htpasswd');
    const r = await run('htpasswd', ['-Bbn', 'alice', 's3cret']);
    writeFileSync(htpasswd, r.stdout);
    const reg = await startRegistry({ htpasswd });
    try {
      expect((await fetch(`${reg.url}/v2/`)).status).toBe(401);
      const auth = Buffer.from('alice:s3cret').toString('base64');
      expect((await fetch(`${reg.url}/v2/`, { headers: { authorization: `Basic ${auth}` } })).status).toBe(
        200,
      );
    } finally {
      await reg.stop();
    }
  });
});

describe('umoci', () => {
  if (!requireTools('umoci')) return;

  it('makes a layout, an image in it, and unpacks it', async () => {
    const dir = await tempDir('umoci');
    const layout = join(dir, 'layout');
    await umoci(['init', '--layout', layout]);
    await umoci(['new', '--image', `${layout}:v1`]);
    await umoci(['config', '--image', `${layout}:v1`, '--config.cmd', '/bin/true']);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    expect(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toContain('v1');
    const rootfs = await umociUnpack(layout, 'v1', join(dir, 'bundle'));
    expect(existsSync(rootfs)).toBe(true);
    const spec = JSON.parse(readFileSync(join(dir, 'bundle', 'config.json'), 'utf8')) as {
      process: { args: string[] };
    };
    expect(spec.process.args).toEqual(['/bin/true']);
  });
});

describe('actool', () => {
  if (!requireTools('actool', 'tar')) return;

  it('reports its version', async () => {
    const r = await actool(['version']);
    expect(r.stdout).toMatch(/actool version 0\.8\.\d+/);
  });

  it('validates a minimal ACI and rejects a broken one', async () => {
    const dir = await tempDir('aci');
    const img = join(dir, 'img');
    mkdirSync(join(img, 'rootfs'), { recursive: true });
    const manifest = {
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name: 'example.com/rootc-test',
      labels: [
        { name: 'os', value: 'linux' },
        { name: 'arch', value: 'amd64' },
      ],
    };
    writeFileSync(join(img, 'manifest'), JSON.stringify(manifest));
    const aci = join(dir, 'ok.aci');
    await run('tar', ['-C', img, '-czf', aci, 'manifest', 'rootfs']);
    const ok = await actool(['validate', aci], { reject: false });
    expect(ok.stderr + ok.stdout).toBe('');
    expect(ok.exitCode).toBe(0);
    const cat = await actool(['cat-manifest', aci]);
    expect(JSON.parse(cat.stdout).name).toBe('example.com/rootc-test');

    const bad = join(dir, 'bad.aci');
    await run('tar', ['-C', img, '-czf', bad, 'rootfs']);
    expect((await actool(['validate', bad], { reject: false })).exitCode).not.toBe(0);
  });
});

describe('rootc binary', () => {
  it('runs from the build with --help', async () => {
    const r = await runRootc(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/rootc/);
  });
});

describe('rootless test user', () => {
  if (!requireTools('rootless-user', 'root', 'unshare')) return;

  it('maps root and a subordinate range in a user namespace', async () => {
    const user = rootlessUser();
    if (!user) throw new Error('unreachable: requireTools checked it');
    expect(user.subuid.count).toBeGreaterThanOrEqual(65536);
    // A failing unshare leaves its newuidmap helper holding our pipes: keep the wait short.
    const args = ['--map-auto', '--map-root-user', '--mount', 'cat', '/proc/self/uid_map'];
    const r = await runAs(user, 'unshare', args, { timeout: 20_000 });
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    expect(lines).toContainEqual([0, user.uid, 1]);
    expect(lines).toContainEqual([1, user.subuid.start, user.subuid.count - 1]);
  });

  it('runs rootc as that user', async () => {
    const user = rootlessUser();
    if (!user) throw new Error('unreachable: requireTools checked it');
    const r = await runRootc(['--version'], { asUser: user });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
