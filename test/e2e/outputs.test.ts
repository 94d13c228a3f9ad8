/**
 * End to end, issue 4 items 1–2: one `rootc build` with docker, oci, oci-archive, aci and rootfs outputs gives
 * the same tree in all of them — the rootfs tar, the ACI's rootfs/, `umoci unpack`'s rootfs and `docker
 * export` of a container of the loaded image (file list, types, modes, owners, content digests, link
 * targets, device numbers) — including a device node recorded in the base tarball's layer. The OCI outputs go
 * through skopeo (inspect, copy to docker-archive) into docker run; the ACI through actool; a second build
 * from another directory and cache gives the same bytes for every output; a bad name fails cleanly.
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { decompressStream } from '../../src/tar/compress.js';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { readTar } from '../../src/tar/reader.js';
import { walkTree } from '../../src/tar/tree.js';
import { tarStream } from '../../src/tar/writer.js';
import {
  actool,
  docker,
  dockerLoad,
  dockerRun,
  requireTools,
  runRootc,
  skopeo,
  skopeoInspect,
  tempDir,
  umociUnpack,
  uniqueRef,
} from '../support/index.js';

const ROOTFILE = `FROM tarball base.tar
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY --from=host --deps /usr/sbin/setcap /usr/sbin/
RUN mkdir -p /etc /d /data && echo old > /d/old \\
 && echo 'root:x:0:0::/root:/bin/sh' > /etc/passwd \\
 && echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd \\
 && printf 'root:x:0:\\napp:x:1000:\\n' > /etc/group \\
 && echo bye > /etc/bye
RUN rm -rf /d && mkdir /d && echo new > /d/new \\
 && echo a > /data/a && ln /data/a /data/b && chown 1000:1000 /data/a \\
 && cp /bin/busybox /bin/suid && chmod 4755 /bin/suid \\
 && cp /bin/busybox /bin/capped && setcap cap_net_raw+ep /bin/capped
REMOVE /etc/bye
ENV GREETING=hello PATH=/usr/sbin:/bin
WORKDIR /work
EXPOSE 8080/tcp 53/udp
VOLUME /data /var/lib/x
USER app
ANNOTATION org.opencontainers.image.title=outputs
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $GREETING from $(pwd) as $(id -u)"]
`;

/** A base tarball with busybox and a device node (written by rootc's tar writer: no mknod needed). */
async function makeContext(): Promise<string> {
  const ctx = await tempDir('outputs-ctx');
  writeFileSync(path.join(ctx, 'Rootfile'), ROOTFILE);
  const size = statSync('/bin/busybox').size;
  const meta = { uid: 0, gid: 0, mtime: 1_000_000_000 };
  const entries: TarEntrySpec[] = [
    { path: 'bin', type: 'directory', mode: 0o755, ...meta },
    {
      path: 'bin/busybox',
      type: 'file',
      mode: 0o755,
      size,
      open: () => createReadStream('/bin/busybox'),
      ...meta,
    },
    { path: 'dev', type: 'directory', mode: 0o755, ...meta },
    { path: 'dev/rootc-null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3, ...meta },
  ];
  await pipeline(tarStream(entries), createWriteStream(path.join(ctx, 'base.tar')));
  return ctx;
}

interface Node {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  sha?: string;
  link?: string;
  dev?: string;
  caps?: boolean;
}

/** path → node, hardlinks resolved to their target's content (as a reader of the tree sees it). */
async function treeOf(entries: AsyncIterable<TarEntrySpec>, strip = ''): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const raw = new Map<string, Node>();
  for await (const e of entries) {
    let p = e.path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    if (strip) {
      if (p !== strip && !p.startsWith(`${strip}/`)) continue;
      p = p.slice(strip.length + 1);
    }
    if (p === '') continue;
    const n: Node = { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid };
    if (e.type === 'file' && e.open) {
      const h = createHash('sha256');
      for await (const c of e.open()) h.update(c as Buffer);
      n.sha = h.digest('hex');
    }
    if (e.type === 'hardlink') {
      let target = (e.linkname ?? '').replace(/^\.?\/+/, '');
      if (strip) target = target.slice(strip.length + 1);
      const t = raw.get(target);
      n.type = 'file';
      n.sha = t?.sha ?? `missing:${target}`;
    }
    if (e.type === 'symlink') n.link = e.linkname;
    if (e.type === 'char' || e.type === 'block') n.dev = `${e.devmajor}:${e.devminor}`;
    if (e.xattrs?.['security.capability']) n.caps = true;
    raw.set(p, n);
    out.set(p, n);
  }
  return out;
}

async function* tarEntries(file: string): AsyncGenerator<TarEntrySpec> {
  const { stream } = await decompressStream(createReadStream(file));
  for await (const m of readTar(stream as AsyncIterable<Buffer>)) {
    const h = m.header;
    yield {
      path: h.name,
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      mtime: h.mtime,
      ...(h.linkname ? { linkname: h.linkname } : {}),
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs: h.xattrs,
      ...(h.type === 'file' ? { open: () => Readable.from(m.body()) } : {}),
    };
  }
}

/** What docker adds to a container's filesystem on its own. */
const DOCKER_ADDED = /^(\.dockerenv|proc|sys|dev|etc\/hostname|etc\/hosts|etc\/resolv\.conf|etc\/mtab)(\/|$)/;

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function dirDigests(root: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    if (lstatSync(path.join(root, p)).isDirectory()) Object.assign(out, dirDigests(root, p));
    else out[p] = sha256(path.join(root, p));
  }
  return out;
}

const OUTPUTS = (out: string) => [
  '-o',
  `type=docker,dest=${out}/image.tar`,
  '-o',
  `type=oci,dest=${out}/oci`,
  '-o',
  `type=oci-archive,dest=${out}/oci.tar`,
  '-o',
  `type=aci,dest=${out}/image.aci`,
  '-o',
  `type=rootfs,dest=${out}/rootfs.tar`,
];

describe('one build, every output, one tree', () => {
  if (!requireTools('docker', 'umoci', 'skopeo', 'actool', 'busybox', 'setcap', 'root')) return;
  let ctx: string;
  let out: string;
  const ref = uniqueRef('outputs');
  const tag = ref.slice(ref.lastIndexOf(':') + 1);

  beforeAll(async () => {
    ctx = await makeContext();
    out = await tempDir('outputs-out');
    const r = await runRootc(['build', '-t', ref, '--progress=plain', ...OUTPUTS(out), ctx], {
      env: { ROOTC_CACHE_DIR: await tempDir('outputs-cache') },
    });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.exitCode, r.stderr).toBe(0);
  }, 300_000);

  it('gives the same files, modes, owners, contents, links and device nodes in all four', async () => {
    const rootfs = await treeOf(tarEntries(path.join(out, 'rootfs.tar')));
    const aci = await treeOf(tarEntries(path.join(out, 'image.aci')), 'rootfs');
    const bundle = await umociUnpack(path.join(out, 'oci'), tag, path.join(out, 'bundle'));
    const umoci = await treeOf(walkTree(bundle));

    await dockerLoad(path.join(out, 'image.tar'));
    const cid = (await docker(['create', ref])).stdout.trim();
    const exported = path.join(out, 'export.tar');
    await docker(['export', '-o', exported, cid]);
    await docker(['rm', cid]);
    const exportedTree = await treeOf(tarEntries(exported));
    const fromDocker = new Map([...exportedTree].filter(([p]) => !DOCKER_ADDED.test(p)));

    // The things this image is about are in the reference tree (and it is not a trivial one).
    expect(rootfs.size).toBeGreaterThan(100);
    expect(rootfs.get('dev/rootc-null')).toMatchObject({ type: 'char', dev: '1:3', mode: 0o666 });
    expect(rootfs.get('bin/suid')!.mode).toBe(0o4755);
    expect(rootfs.get('bin/capped')!.caps).toBe(true);
    expect(rootfs.get('data/a')).toMatchObject({ uid: 1000, gid: 1000 });
    expect(rootfs.get('data/b')!.sha).toBe(rootfs.get('data/a')!.sha);
    expect(rootfs.has('d/old')).toBe(false);
    expect(rootfs.has('etc/bye')).toBe(false);
    expect(rootfs.get('bin/sh')).toMatchObject({ type: 'symlink', link: '/bin/busybox' });

    const sorted = (m: Map<string, Node>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(sorted(aci)).toEqual(sorted(rootfs));
    expect(sorted(umoci)).toEqual(sorted(rootfs));
    const withoutDev = new Map([...rootfs].filter(([p]) => !DOCKER_ADDED.test(p)));
    expect(sorted(fromDocker)).toEqual(sorted(withoutDev));
  });

  it('runs from the docker output, and from both OCI outputs copied by skopeo', async () => {
    expect((await dockerRun(ref)).stdout).toBe('hello from /work as 1000\n');
    for (const [i, src] of [`oci:${out}/oci:${tag}`, `oci-archive:${out}/oci.tar:${tag}`].entries()) {
      const info = await skopeoInspect(src);
      expect(info.Env).toEqual(['GREETING=hello', 'PATH=/usr/sbin:/bin']);
      const name = uniqueRef(`outputs-copy-${i}`);
      await skopeo(['copy', '--quiet', src, `docker-archive:${out}/copy-${i}.tar:${name}`]);
      await dockerLoad(`${out}/copy-${i}.tar`);
      expect((await dockerRun(name)).stdout).toBe('hello from /work as 1000\n');
    }
    const index = JSON.parse(readFileSync(path.join(out, 'oci/index.json'), 'utf8'));
    const manifest = JSON.parse(
      readFileSync(path.join(out, 'oci/blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    );
    expect(manifest.annotations['org.opencontainers.image.title']).toBe('outputs');
    expect(manifest.annotations['org.opencontainers.image.created']).toMatch(/^\d{4}-/);
  });

  it('writes an ACI that actool validates, with the mapped manifest', async () => {
    const aci = path.join(out, 'image.aci');
    const v = await actool(['--debug', 'validate', aci], { reject: false });
    expect(v.exitCode, v.stderr).toBe(0);
    const m = JSON.parse((await actool(['cat-manifest', aci])).stdout);
    expect(m.name).toBe(ref.slice(0, ref.lastIndexOf(':')));
    expect(m.labels).toContainEqual({ name: 'version', value: tag });
    expect(m.app).toMatchObject({
      exec: ['/bin/sh', '-c', 'echo $GREETING from $(pwd) as $(id -u)'],
      user: 'app',
      group: '1000',
      workingDirectory: '/work',
      environment: [
        { name: 'GREETING', value: 'hello' },
        { name: 'PATH', value: '/usr/sbin:/bin' },
      ],
      ports: [
        { name: 'udp-53', protocol: 'udp', port: 53 },
        { name: 'tcp-8080', protocol: 'tcp', port: 8080 },
      ],
      mountPoints: [
        { name: 'data', path: '/data', readOnly: false },
        { name: 'var-lib-x', path: '/var/lib/x', readOnly: false },
      ],
    });
    expect(m.annotations).toContainEqual({ name: 'org.opencontainers.image.title', value: 'outputs' });
  });

  it('gives byte-identical outputs from another directory and another cache', async () => {
    const ctx2 = await makeContext();
    const out2 = await tempDir('outputs-out2');
    const r = await runRootc(['build', '-t', ref, '--progress=plain', ...OUTPUTS(out2), ctx2], {
      env: { ROOTC_CACHE_DIR: await tempDir('outputs-cache2') },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    for (const f of ['image.tar', 'oci.tar', 'image.aci', 'rootfs.tar'])
      expect(sha256(path.join(out2, f)), f).toBe(sha256(path.join(out, f)));
    expect(dirDigests(path.join(out2, 'oci'))).toEqual(dirDigests(path.join(out, 'oci')));
  }, 300_000);

  it('refuses a tag that cannot be an ACI name: exit 1, a clear message, no output', async () => {
    const out3 = await tempDir('outputs-bad');
    const r = await runRootc(
      ['build', '-t', 'Example.com/App:1', '--progress=plain', '-o', `type=aci,dest=${out3}/bad.aci`, ctx],
      { env: { ROOTC_CACHE_DIR: await tempDir('outputs-cache3') } },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/not a valid ACI name.*upper-case letters are not allowed/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(existsSync(path.join(out3, 'bad.aci'))).toBe(false);
    expect(readdirSync(out3)).toEqual([]);
    const z = await runRootc(
      ['build', '-t', 'app', '-o', `type=aci,dest=${out3}/z.aci,compression=zstd`, ctx],
      {
        env: { ROOTC_CACHE_DIR: await tempDir('outputs-cache3') },
      },
    );
    expect(z.exitCode).toBe(1);
    expect(z.stderr).toMatch(/cannot be zstd-compressed/);
  });
});
