/**
 * Registries (issue 8), against Debian's docker-registry on 127.0.0.1: push, pull as FROM, blobs not sent
 * twice, cross-repository mounts, htpasswd auth and rootc login, TLS with a throwaway CA, and a registry
 * that goes away in the middle of a push.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dockerLoad,
  dockerRun,
  freePort,
  requireTools,
  run,
  runRootc,
  skopeo,
  startRegistry,
  tempDir,
  uniqueRef,
} from '../support/index.js';

interface Event {
  type: string;
  action?: string;
  digest?: string;
}

const events = (stdout: string): Event[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);

async function busyboxContext(extra = ''): Promise<string> {
  const ctx = await tempDir('reg-ctx');
  copyFileSync('/bin/busybox', path.join(ctx, 'busybox'));
  writeFileSync(
    path.join(ctx, 'Rootfile'),
    `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n${extra}CMD ["/bin/echo", "hello from the registry"]\n`,
  );
  return ctx;
}

describe('registry push and pull', () => {
  if (!requireTools('docker', 'registry', 'skopeo', 'busybox', 'root')) return;

  it('pushes an image that skopeo sees and docker runs; a second push uploads nothing; another repository mounts', async () => {
    const reg = await startRegistry();
    try {
      const cache = await tempDir('reg-cache');
      const ctx = await busyboxContext();
      const ref = `${reg.address}/rootc/hello:1`;
      const first = await runRootc(['build', '-t', ref, '--push', '--progress=json', ctx], {
        env: { ROOTC_CACHE_DIR: cache },
      });
      expect(first.exitCode, first.stderr).toBe(0);
      expect(
        events(first.stdout).filter((e) => e.type === 'push-blob' && e.action === 'uploaded').length,
      ).toBeGreaterThan(1);

      const inspect = await skopeo(['inspect', '--tls-verify=false', `docker://${ref}`]);
      expect(JSON.parse(inspect.stdout).Architecture).toBe('amd64');
      const out = await tempDir('reg-out');
      const local = uniqueRef('from-registry');
      await skopeo([
        'copy',
        '--src-tls-verify=false',
        `docker://${ref}`,
        `docker-archive:${out}/img.tar:${local}`,
      ]);
      await dockerLoad(path.join(out, 'img.tar'));
      const c = await dockerRun(local);
      expect(c.stdout.trim()).toBe('hello from the registry');

      const again = await runRootc(['push', '--progress=json', ref], { env: { ROOTC_CACHE_DIR: cache } });
      expect(again.exitCode, again.stderr).toBe(0);
      const pushed = events(again.stdout).filter((e) => e.type === 'push-blob');
      expect(pushed.length).toBeGreaterThan(1);
      expect(pushed.every((e) => e.action === 'exists')).toBe(true);

      const other = await runRootc(['push', '--progress=json', ref, `${reg.address}/rootc/other:2`], {
        env: { ROOTC_CACHE_DIR: cache },
      });
      expect(other.exitCode, other.stderr).toBe(0);
      const mounted = events(other.stdout).filter((e) => e.type === 'push-blob');
      expect(mounted.every((e) => e.action === 'mounted')).toBe(true);
    } finally {
      await reg.stop();
    }
  });

  it('builds FROM an image that skopeo pushed', async () => {
    const reg = await startRegistry();
    try {
      const ctx = await busyboxContext();
      const out = await tempDir('reg-out');
      const base = await runRootc(['build', '-t', 'base:1', '-o', `type=docker,dest=${out}/base.tar`, ctx]);
      expect(base.exitCode, base.stderr).toBe(0);
      await skopeo([
        'copy',
        '--dest-tls-verify=false',
        `docker-archive:${out}/base.tar`,
        `docker://${reg.address}/base:1`,
      ]);

      const ctx2 = await tempDir('reg-ctx2');
      writeFileSync(
        path.join(ctx2, 'Rootfile'),
        `FROM ${reg.address}/base:1\nRUN echo derived > /msg\nCMD ["/bin/cat", "/msg"]\n`,
      );
      const ref = uniqueRef('derived');
      const r = await runRootc([
        'build',
        '-t',
        ref,
        '--progress=plain',
        '-o',
        `type=docker,dest=${out}/derived.tar`,
        ctx2,
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      await dockerLoad(path.join(out, 'derived.tar'));
      expect((await dockerRun(ref)).stdout.trim()).toBe('derived');
    } finally {
      await reg.stop();
    }
  });

  it('reports an unknown image with its reference', async () => {
    const reg = await startRegistry();
    try {
      const ctx = await tempDir('reg-ctx');
      writeFileSync(path.join(ctx, 'Rootfile'), `FROM ${reg.address}/nope:1\n`);
      const r = await runRootc(['build', ctx]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`Rootfile:1:1: error: cannot pull ${reg.address}/nope:1: .*not found`),
      );
    } finally {
      await reg.stop();
    }
  });
});

describe('registry auth and TLS', () => {
  if (!requireTools('registry', 'skopeo', 'busybox', 'root', 'htpasswd', 'openssl')) return;

  it('needs credentials: a clear 401 and no tag without them, rootc login stores them, then the push works', async () => {
    const dir = await tempDir('reg-auth');
    const htpasswd = path.join(dir, 'htpasswd');
    const h = await run('htpasswd', ['-Bbn', 'alice', 's3cret'], { reject: true });
    writeFileSync(htpasswd, h.stdout);
    const reg = await startRegistry({ htpasswd });
    try {
      const dockerConfig = await tempDir('docker-config');
      const env = { DOCKER_CONFIG: dockerConfig, ROOTC_CACHE_DIR: await tempDir('reg-cache') };
      const ctx = await busyboxContext();
      const ref = `${reg.address}/secure/app:1`;

      const denied = await runRootc(['build', '-t', ref, '--push', ctx], { env });
      expect(denied.exitCode).toBe(1);
      expect(denied.stderr).toMatch(/cannot push .*authentication required/);
      expect(denied.stderr).not.toMatch(/at .*\.js:\d+/);
      const inspectDenied = await skopeo(
        ['inspect', '--tls-verify=false', '--creds', 'alice:s3cret', `docker://${ref}`],
        { reject: false },
      );
      expect(inspectDenied.exitCode).not.toBe(0);

      const wrong = await runRootc(['login', '-u', 'alice', '--password-stdin', reg.address], {
        env,
        input: 'wrong\n',
      });
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toMatch(/login to .* failed: .*authentication required/);

      const ok = await runRootc(['login', '-u', 'alice', '--password-stdin', reg.address], {
        env,
        input: 's3cret\n',
      });
      expect(ok.exitCode, ok.stderr).toBe(0);
      const pushed = await runRootc(['push', ref], { env });
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      await skopeo(['inspect', '--tls-verify=false', '--creds', 'alice:s3cret', `docker://${ref}`]);
    } finally {
      await reg.stop();
    }
  });

  it('speaks TLS with a throwaway CA given by --registry-ca, and refuses an unknown CA', async () => {
    const dir = await tempDir('reg-tls');
    const sh = (args: string[]) => run('openssl', args, { reject: true, cwd: dir });
    await sh([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=rootc test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ]);
    await sh([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ]);
    writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    await sh([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.pem',
    ]);
    const reg = await startRegistry({
      tls: { certificate: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') },
    });
    try {
      const ctx = await busyboxContext();
      const ref = `${reg.address}/tls/app:1`;
      const env = { ROOTC_CACHE_DIR: await tempDir('reg-cache') };
      const untrusted = await runRootc(['build', '-t', ref, '--push', ctx], { env });
      expect(untrusted.exitCode).toBe(1);
      expect(untrusted.stderr).toMatch(/cannot push .*certificate/i);
      const trusted = await runRootc(
        ['build', '-t', ref, '--push', '--registry-ca', path.join(dir, 'ca.pem'), ctx],
        { env },
      );
      expect(trusted.exitCode, trusted.stderr).toBe(0);
      const certDir = await tempDir('reg-certs');
      copyFileSync(path.join(dir, 'ca.pem'), path.join(certDir, 'ca.crt'));
      await skopeo(['inspect', '--cert-dir', certDir, `docker://${ref}`]);
    } finally {
      await reg.stop();
    }
  });
});

describe('registry stopped in the middle of a push', () => {
  if (!requireTools('registry', 'skopeo', 'busybox', 'root')) return;

  it('fails cleanly without a tag, and the next push completes', async () => {
    const dataDir = await tempDir('reg-data');
    let reg = await startRegistry({ dir: dataDir });
    // A proxy with a stable port in front of the registry: after some megabytes of uploads it stops the
    // registry (as if it went away), and is pointed at a new registry on the same storage afterwards.
    const port = await freePort();
    let upstream = reg.address;
    let forwarded = 0;
    let stopping: Promise<void> | undefined;
    const proxy = net.createServer((client) => {
      const [host, p] = upstream.split(':');
      const server = net.connect(Number(p), host!);
      client.on('data', (d: Buffer) => {
        forwarded += d.length;
        if (forwarded > 8 * 1024 * 1024 && !stopping) stopping = reg.stop();
      });
      client.pipe(server).on('error', () => client.destroy());
      server.pipe(client).on('error', () => server.destroy());
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', () => r()));
    try {
      const ctx = await busyboxContext('COPY big.bin /big.bin\n');
      await run('dd', ['if=/dev/urandom', `of=${path.join(ctx, 'big.bin')}`, 'bs=1M', 'count=24'], {
        reject: true,
      });
      const ref = `127.0.0.1:${port}/big/app:1`;
      const env = { ROOTC_CACHE_DIR: await tempDir('reg-cache') };
      const failed = await runRootc(['build', '-t', ref, '--push', ctx], { env });
      expect(failed.exitCode).toBe(1);
      expect(failed.stderr).toMatch(/cannot push/);
      expect(failed.stderr).not.toMatch(/internal error/);
      await stopping;

      reg = await startRegistry({ dir: dataDir });
      upstream = reg.address;
      forwarded = Number.NEGATIVE_INFINITY; // no more stops
      const tagless = await skopeo(['inspect', '--tls-verify=false', `docker://${ref}`], { reject: false });
      expect(tagless.exitCode).not.toBe(0);
      const ok = await runRootc(['push', ref], { env });
      expect(ok.exitCode, ok.stderr).toBe(0);
      await skopeo(['inspect', '--tls-verify=false', `docker://${ref}`]);
    } finally {
      proxy.close();
      await reg.stop();
    }
  });
});
