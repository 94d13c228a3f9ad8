/**
 * Shared by the rootless tests (issue 7): a busybox base tarball made as root with GNU tar (device nodes,
 * a fifo, files of uid 1000), the Rootfiles built both as root and as the unprivileged user, and a
 * digest of any output (a file's sha256; a directory's = sha256 of its sorted `path sha256` lines).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { run } from '../support/index.js';

export const EPOCH = '1700000000';

/** Outputs of every type, into `out`. */
export function allOutputs(out: string): string[] {
  return [
    ['docker', 'img.tar'],
    ['rootfs', 'rootfs.tar'],
    ['oci', 'oci'],
    ['oci-archive', 'oci.tar'],
    ['aci', 'img.aci'],
  ].flatMap(([type, name]) => ['--output', `type=${type},dest=${path.join(out, name!)}`]);
}

export function outputDigest(p: string): string {
  const h = createHash('sha256');
  if (statSync(p).isDirectory()) {
    const walk = (dir: string, rel: string): string[] =>
      readdirSync(dir, { withFileTypes: true })
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .flatMap((e) =>
          e.isDirectory()
            ? walk(path.join(dir, e.name), `${rel}${e.name}/`)
            : [`${rel}${e.name} ${outputDigest(path.join(dir, e.name))}`],
        );
    h.update(walk(p, '').join('\n'));
  } else h.update(readFileSync(p));
  return h.digest('hex');
}

export function digestsOf(out: string): Record<string, string> {
  const d: Record<string, string> = {};
  for (const name of readdirSync(out).sort()) d[name] = outputDigest(path.join(out, name));
  return d;
}

/**
 * A busybox tree tarred as root with `--numeric-owner`: /dev/null, /dev/zero (char), /dev/sda (block),
 * /dev/fifo0, the same char node also at /nodes/null (docker mounts its own /dev over the image's, so
 * `docker run` can only show nodes elsewhere), /home/app owned by 1000, /etc/junk to REMOVE.
 */
export async function makeBusyboxBase(dir: string): Promise<string> {
  const root = path.join(dir, 'base-root');
  for (const d of ['bin', 'etc', 'dev', 'nodes', 'home/app'])
    mkdirSync(path.join(root, d), { recursive: true });
  await run('cp', ['/bin/busybox', path.join(root, 'bin/busybox')], { reject: true });
  for (const a of [
    'sh',
    'ls',
    'mkdir',
    'chown',
    'chmod',
    'rm',
    'ln',
    'echo',
    'id',
    'cat',
    'mknod',
    'touch',
    'stat',
  ])
    symlinkSync('busybox', path.join(root, 'bin', a));
  writeFileSync(
    path.join(root, 'etc/passwd'),
    'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
  );
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\ntty:x:5:\napp:x:1000:\n');
  writeFileSync(path.join(root, 'etc/junk'), 'junk\n');
  for (const [p, ...a] of [
    ['dev/null', 'c', '1', '3'],
    ['dev/zero', 'c', '1', '5'],
    ['dev/sda', 'b', '8', '0'],
    ['dev/fifo0', 'p'],
    ['nodes/null', 'c', '1', '3'],
    ['nodes/tty1', 'c', '4', '1'],
  ])
    await run('mknod', ['-m', '666', path.join(root, p!), ...a], { reject: true });
  await run('chown', ['0:5', path.join(root, 'nodes/tty1')], { reject: true });
  chmodSync(path.join(root, 'home/app'), 0o750);
  await run('chown', ['1000:1000', path.join(root, 'home/app')], { reject: true });
  const tarball = path.join(dir, 'base.tar');
  await run(
    'tar',
    ['--numeric-owner', '--sort=name', '--mtime=@1600000000', '-C', root, '-cf', tarball, '.'],
    {
      reject: true,
    },
  );
  return tarball;
}

/** RUN with chown to 1000, COPY --chown, USER, WORKDIR, REMOVE (of a file and of a base's device node). */
export const BUSYBOX_ROOTFILE = `FROM tarball base.tar
RUN mkdir -p /d/e && echo hi > /d/f && chown 1000:1000 /d/f /d/e && chmod 4755 /d/f && ln -s f /d/l
COPY --chown=1000:1000 hello.txt /home/app/hello.txt
COPY --chown=app hello.txt /opt/h2
USER app
WORKDIR /home/app/w
RUN echo made-by-app > /home/app/w/x && id
USER root
REMOVE /etc/junk /dev/zero
RUN rm /nodes/null && touch /nodes/after
CMD ["/bin/sh"]
`;

export const MULTI_ROOTFILE = `FROM tarball base.tar AS build
RUN mkdir /out && echo built > /out/a && chown 1000:1000 /out/a
FROM scratch
COPY --from=build /bin/busybox /bin/busybox
COPY --from=build --chown=1000:1000 /out /out
COPY --from=build /etc /etc
COPY --from=build /home/app /home/app
ADD base.tar /unpacked/
`;

/** A context dir with base.tar, hello.txt and both Rootfiles, readable by every user. */
export async function makeBusyboxContext(dir: string): Promise<string> {
  chmodSync(dir, 0o755);
  await makeBusyboxBase(dir);
  writeFileSync(path.join(dir, 'hello.txt'), 'hello\n');
  writeFileSync(path.join(dir, 'Rootfile'), BUSYBOX_ROOTFILE);
  writeFileSync(path.join(dir, 'Rootfile.multi'), MULTI_ROOTFILE);
  await run('chmod', ['-R', 'a+rX', dir], { reject: true });
  return dir;
}
