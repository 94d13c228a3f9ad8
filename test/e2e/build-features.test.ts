/**
 * End to end, more of issue 3: multi-stage COPY --from, ADD of archives and URLs, COPY heredocs, --chown
 * with names from the image, --chmod, .dockerignore, a failing RUN, and clean-up after SIGTERM/SIGKILL.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dockerInspect,
  dockerLoad,
  dockerRun,
  repoRoot,
  requireTools,
  run,
  runRootc,
  tempDir,
  uniqueRef,
} from '../support/index.js';

const BUSYBOX_BASE = `FROM scratch AS tools
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
`;

async function context(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir('features-ctx');
  copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

describe('rootc build features', () => {
  if (!requireTools('docker', 'busybox', 'root', 'tar')) return;
  let server: http.Server;
  let baseUrl: string;
  const payload = 'downloaded over http\n';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/files/data.txt') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(payload);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('copies between stages, adds archives and URLs, writes heredocs, resolves --chown names, honours .dockerignore', async () => {
    const ctx = await context({
      'app/main.txt': 'main\n',
      'app/secret.key': 'do not ship\n',
      '.dockerignore': '**/*.key\n',
    });
    const stage = await tempDir('features-archive');
    writeFileSync(path.join(stage, 'inside.txt'), 'from the archive\n');
    await run('tar', ['-czf', path.join(ctx, 'bundle.tar.gz'), '-C', stage, 'inside.txt'], { reject: true });
    const sum = createHash('sha256').update(payload).digest('hex');
    writeFileSync(
      path.join(ctx, 'Rootfile'),
      `${BUSYBOX_BASE}
RUN mkdir -p /out && echo built > /out/artifact

FROM tools
RUN echo 'app:x:1000:1001::/home/app:/bin/sh' > /etc/passwd && echo 'staff:x:1001:' > /etc/group
COPY --from=tools /out/artifact /opt/artifact
COPY --chown=app:staff --chmod=640 app/ /srv/app/
ADD bundle.tar.gz /opt/unpacked/
ADD --checksum=sha256:${sum} ${baseUrl}/files/data.txt /opt/
COPY <<EOF /etc/motd
hello \${HOSTNAME:-from a heredoc}
EOF
CMD ["/bin/sh", "-c", "cat /opt/artifact /opt/unpacked/inside.txt /opt/data.txt /etc/motd; ls /srv/app; stat -c '%u:%g %a' /srv/app/main.txt /opt/data.txt"]
`,
    );
    const out = await tempDir('features-out');
    const ref = uniqueRef('features');
    const r = await runRootc([
      'build',
      '-t',
      ref,
      '--progress=plain',
      '-o',
      `type=docker,dest=${out}/img.tar`,
      ctx,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    await dockerLoad(path.join(out, 'img.tar'));
    const c = await dockerRun(ref);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout.split('\n')).toEqual([
      'built',
      'from the archive',
      'downloaded over http',
      'hello from a heredoc',
      'main.txt',
      '1000:1001 640',
      '0:0 600',
      '',
    ]);
  });

  it('lowers against an image base’s config (ENV PATH=/x:$PATH sees its PATH) and runs its ONBUILD triggers once', async () => {
    const ctx = await context();
    const out = await tempDir('features-out');
    writeFileSync(
      path.join(ctx, 'Rootfile'),
      `${BUSYBOX_BASE}ENV PATH=/custom/bin:/bin\nWORKDIR /w\nONBUILD RUN echo triggered > /onbuild\n`,
    );
    const base = await runRootc(['build', '-t', 'base:1', '-o', `type=docker,dest=${out}/base.tar`, ctx]);
    expect(base.exitCode, base.stderr).toBe(0);
    const child = await tempDir('features-child');
    copyFileSync(path.join(out, 'base.tar'), path.join(child, 'base.tar'));
    writeFileSync(
      path.join(child, 'Rootfile'),
      'FROM docker-archive base.tar\nENV PATH=/x:$PATH\nRUN echo "$PATH $(pwd)" > /seen\nCMD ["/bin/cat", "/seen", "/onbuild"]\n',
    );
    const ref = uniqueRef('child');
    const r = await runRootc(['build', '-t', ref, '-o', `type=docker,dest=${out}/child.tar`, child]);
    expect(r.exitCode, r.stderr).toBe(0);
    await dockerLoad(path.join(out, 'child.tar'));
    const c = await dockerRun(ref);
    expect(c.stdout).toBe('/x:/custom/bin:/bin /w\ntriggered\n');
    const img = await dockerInspect(ref);
    expect(img.Config.Env).toContain('PATH=/x:/custom/bin:/bin');
    expect(img.Config.OnBuild ?? []).toEqual([]);
  });

  it('reports a failing RUN at its line with the exit status and the last output, and leaves no mounts', async () => {
    const ctx = await context();
    writeFileSync(path.join(ctx, 'Rootfile'), `${BUSYBOX_BASE}RUN echo about to fail && exit 3\n`);
    const cacheDir = await tempDir('features-cache');
    const r = await runRootc(['build', '--progress=plain', ctx], { env: { ROOTC_CACHE_DIR: cacheDir } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Rootfile:4:1: error: RUN exited with status 3/);
    expect(r.stderr).toMatch(/about to fail/);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(cacheDir);
  });

  it('does not reuse layers made under another SOURCE_DATE_EPOCH: the output is what a fresh cache gives', async () => {
    const ctx = await context({ 'note.txt': 'note\n' });
    writeFileSync(path.join(ctx, 'Rootfile'), `${BUSYBOX_BASE}COPY note.txt /note.txt\nRUN touch /made\n`);
    const [shared, fresh, out] = [
      await tempDir('epoch-cache'),
      await tempDir('epoch-fresh'),
      await tempDir('epoch-out'),
    ];
    const build = async (epoch: string, cacheDir: string, name: string) => {
      const r = await runRootc(['build', '--progress=plain', '-o', `type=rootfs,dest=${out}/${name}`, ctx], {
        env: { ROOTC_CACHE_DIR: cacheDir, SOURCE_DATE_EPOCH: epoch },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      return {
        log: r.stderr + r.stdout,
        sha: createHash('sha256')
          .update(readFileSync(`${out}/${name}`))
          .digest('hex'),
      };
    };
    const a = await build('1600000000', shared, 'a.tar');
    const b = await build('1700000000', shared, 'b.tar');
    const c = await build('1700000000', fresh, 'c.tar');
    expect(b.log).toMatch(/cache miss/);
    expect(b.sha).toBe(c.sha);
    expect(a.sha).not.toBe(b.sha);
  });

  it('runs a RUN heredoc with a shebang as a script file, read-only and left out of the image', async () => {
    const ctx = await context();
    writeFileSync(
      path.join(ctx, 'Rootfile'),
      `${BUSYBOX_BASE}RUN echo 'app:x:1000:1000::/:/bin/sh' >> /etc/passwd
USER app
WORKDIR /tmp
RUN <<SCRIPT
#!/bin/sh -e
echo "script $0 as $(id -u) in $(pwd)" > /tmp/ran
if echo overwrite > "$0" 2>/dev/null; then echo writable >> /tmp/ran; fi
SCRIPT
RUN <<EOF
echo "plain heredoc body" >> /tmp/ran
EOF
`,
    );
    const out = await tempDir('features-out');
    const r = await runRootc(['build', '--progress=plain', '-o', `type=rootfs,dest=${out}/rootfs.tar`, ctx]);
    expect(r.exitCode, r.stderr).toBe(0);
    const list = await run('tar', ['-tf', path.join(out, 'rootfs.tar')], { reject: true });
    expect(list.stdout).not.toMatch(/pipes/);
    const ran = await run('tar', ['-xOf', path.join(out, 'rootfs.tar'), 'tmp/ran'], { reject: true });
    expect(ran.stdout).toBe('script /dev/pipes/SCRIPT as 1000 in /tmp\nplain heredoc body\n');
  });
});

describe('rootc build interrupted', () => {
  if (!requireTools('busybox', 'root')) return;

  async function startLongBuild(cacheDir: string) {
    const ctx = await context();
    writeFileSync(path.join(ctx, 'Rootfile'), `${BUSYBOX_BASE}RUN echo started && sleep 97\n`);
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'bin/rootc.js'), 'build', '--progress=json', ctx],
      {
        env: { ...process.env, ROOTC_CACHE_DIR: cacheDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the build did not reach the RUN: ${stdout}`)),
        120_000,
      );
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('"line":"started"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return { child, ctx, exited };
  }

  async function leftovers(cacheDir: string) {
    await new Promise((r) => setTimeout(r, 500));
    const sleepers = await run('pgrep', ['-f', 'sleep 97'], { reject: false });
    return {
      processes: sleepers.stdout.trim(),
      mounts: readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(cacheDir)),
    };
  }

  it('cleans up on SIGTERM: exit status, no process, no mount, no temp dir', async () => {
    const cacheDir = await tempDir('interrupt-cache');
    const { child, exited } = await startLongBuild(cacheDir);
    child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(143);
    const left = await leftovers(cacheDir);
    expect(left.processes).toBe('');
    expect(left.mounts).toEqual([]);
    expect(readdirSync(path.join(cacheDir, 'tmp'))).toEqual([]);
  });

  it('leaves nothing a later build trips over after SIGKILL', async () => {
    const cacheDir = await tempDir('interrupt-cache');
    const { child, ctx, exited } = await startLongBuild(cacheDir);
    child.kill('SIGKILL');
    await exited;
    const left = await leftovers(cacheDir);
    expect(left.processes).toBe('');
    expect(left.mounts).toEqual([]);
    writeFileSync(path.join(ctx, 'Rootfile'), `${BUSYBOX_BASE}RUN echo fine\n`);
    const r = await runRootc(['build', '--progress=plain', ctx], { env: { ROOTC_CACHE_DIR: cacheDir } });
    expect(r.exitCode, r.stderr).toBe(0);
  });
});
