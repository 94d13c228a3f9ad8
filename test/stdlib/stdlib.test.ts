/**
 * Every stdlib fragment, built by `rootc build` into a real image: FROM scratch plus the host's static busybox
 * (or host programs with --deps), the fragment INCLUDEd, then the tree checked file by file (rootfs output,
 * unpacked) and, where the fragment changes behaviour, the image run in docker.
 */
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dockerInspect,
  dockerLoad,
  dockerRun,
  requireTools,
  run,
  runRootc,
  tempDir,
  uniqueRef,
} from '../support/index.js';

interface Built {
  ref: string;
  /** The final tree, unpacked from the rootfs output. */
  root: string;
}

/** Builds ROOTFILE in a fresh context holding FILES (relative path → content); docker + rootfs outputs. */
async function build(rootfile: string, files: Record<string, string> = {}): Promise<Built> {
  const ctx = await tempDir('stdlib-ctx');
  writeFileSync(path.join(ctx, 'Rootfile'), rootfile);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(ctx, name)), { recursive: true });
    writeFileSync(path.join(ctx, name), content);
  }
  const out = await tempDir('stdlib-out');
  const ref = uniqueRef('stdlib');
  const r = await runRootc([
    'build',
    ctx,
    '-t',
    ref,
    '--progress=plain',
    '-o',
    `type=docker,dest=${out}/img.tar`,
    '-o',
    `type=rootfs,dest=${out}/rootfs.tar`,
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
  const root = path.join(out, 'root');
  mkdirSync(root);
  await run('tar', ['-xf', path.join(out, 'rootfs.tar'), '-C', root]);
  await dockerLoad(path.join(out, 'img.tar'));
  return { ref, root };
}

const BUSYBOX = 'FROM scratch\nCOPY --from=host /bin/busybox /bin/busybox\nINCLUDE busybox\n';

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

describe('stdlib fragments', () => {
  if (!requireTools('docker', 'busybox', 'root')) return;

  it('busybox: applet links in their usual directories, made by exec form in an image without a shell', async () => {
    const { ref, root } = await build(
      `${BUSYBOX}CMD ["/bin/sh", "-c", "ls /usr/bin/wc && echo ok | wc -c"]\n`,
    );
    expect(readlinkSync(path.join(root, 'bin/sh'))).toBe('/bin/busybox');
    expect(readlinkSync(path.join(root, 'sbin/ifconfig'))).toBe('/bin/busybox');
    expect(readlinkSync(path.join(root, 'usr/bin/wc'))).toBe('/bin/busybox');
    expect(lstatSync(path.join(root, 'bin/busybox')).isFile()).toBe(true);
    const r = await dockerRun(ref);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('/usr/bin/wc\n3\n');
  });

  it('busybox DIR=/opt/bb: every applet in one directory', async () => {
    const { root } = await build(
      'FROM scratch\nCOPY --from=host /bin/busybox /bin/busybox\nINCLUDE busybox DIR=/opt/bb\n',
    );
    expect(readlinkSync(path.join(root, 'opt/bb/sh'))).toBe('/bin/busybox');
    expect(readlinkSync(path.join(root, 'opt/bb/ifconfig'))).toBe('/bin/busybox');
    expect(exists(path.join(root, 'bin/sh'))).toBe(false);
  });

  it('users: passwd and group entries, a home owned by the user, idempotent, USER resolves it', async () => {
    const { ref, root } = await build(
      `${BUSYBOX}INCLUDE users NAME=app USER_ID=1001 HOME_DIR=/srv/app LOGIN_SHELL=/bin/sh\n` +
        'INCLUDE users NAME=app USER_ID=1001\nINCLUDE users NAME=web USER_ID=1002 GROUP_ID=1001\n' +
        'USER app\nCMD ["/bin/sh", "-c", "id; echo $HOME"]\n',
    );
    expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).toBe(
      'app:x:1001:1001::/srv/app:/bin/sh\nweb:x:1002:1001::/home/web:/usr/sbin/nologin\n',
    );
    expect(readFileSync(path.join(root, 'etc/group'), 'utf8')).toBe('app:x:1001:\nweb:x:1001:\n');
    const home = statSync(path.join(root, 'srv/app'));
    expect([home.uid, home.gid, home.isDirectory()]).toEqual([1001, 1001, true]);
    expect(statSync(path.join(root, 'home/web')).uid).toBe(1002);
    const r = await dockerRun(ref);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('uid=1001(app) gid=1001(app) groups=1001(app)\n/srv/app\n');
  });

  it('nonroot: root and one unprivileged user, no shell needed', async () => {
    const { root } = await build('FROM scratch\nINCLUDE nonroot\n');
    expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).toBe(
      'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n',
    );
  });

  it('ca-certificates: the host bundle as /etc/ssl/certs/ca-certificates.crt, SSL_CERT_FILE set', async () => {
    const bundle = '/etc/ssl/certs/ca-certificates.crt';
    if (!exists(bundle)) throw new Error(`${bundle} missing on this machine: Debian package ca-certificates`);
    const { ref, root } = await build('FROM scratch\nINCLUDE ca-certificates\n');
    expect(readFileSync(path.join(root, 'etc/ssl/certs/ca-certificates.crt'))).toEqual(readFileSync(bundle));
    expect((await dockerInspect(ref)).Config.Env).toContain(`SSL_CERT_FILE=${bundle}`);
  });

  it('tzdata TZ=Europe/Paris: zoneinfo, /etc/localtime, /etc/timezone, TZ; date shows CET/CEST', async () => {
    const { ref, root } = await build(
      `${BUSYBOX}INCLUDE tzdata TZ=Europe/Paris\nCMD ["/bin/sh", "-c", "date +%Z"]\n`,
    );
    const zone = readFileSync('/usr/share/zoneinfo/Europe/Paris');
    expect(readFileSync(path.join(root, 'usr/share/zoneinfo/Europe/Paris'))).toEqual(zone);
    expect(readFileSync(path.join(root, 'etc/localtime'))).toEqual(zone);
    expect(readFileSync(path.join(root, 'etc/timezone'), 'utf8')).toBe('Europe/Paris\n');
    expect((await dockerInspect(ref)).Config.Env).toContain('TZ=Europe/Paris');
    const r = await dockerRun(ref);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^CES?T\n$/);
    // Without TZ in the environment (an empty TZ means UTC to glibc), /etc/localtime gives the zone.
    const r2 = await dockerRun(ref, ['/bin/sh', '-c', 'unset TZ; date +%Z']);
    expect(r2.stdout).toMatch(/^CES?T\n$/);
  });

  it('strip-docs LOCALES="en pt_BR": docs, man and info gone, only the chosen translations kept', async () => {
    const files = {
      'tree/usr/share/doc/pkg/README': 'doc\n',
      'tree/usr/share/man/man1/pkg.1': '.TH\n',
      'tree/usr/share/info/pkg.info': 'info\n',
      'tree/usr/share/locale/locale.alias': 'alias\n',
      'tree/usr/share/pkg/data': 'data\n',
    } as Record<string, string>;
    for (const l of ['de', 'en', 'en_GB', 'en@quot', 'eo', 'pt', 'pt_BR', 'fr'])
      files[`tree/usr/share/locale/${l}/LC_MESSAGES/pkg.mo`] = `${l}\n`;
    const { root } = await build(`${BUSYBOX}COPY tree/ /\nINCLUDE strip-docs LOCALES="en pt_BR"\n`, files);
    for (const gone of ['doc', 'man', 'info']) expect(exists(path.join(root, 'usr/share', gone))).toBe(false);
    expect(readFileSync(path.join(root, 'usr/share/pkg/data'), 'utf8')).toBe('data\n');
    const { stdout } = await run('ls', [path.join(root, 'usr/share/locale')]);
    expect(stdout.split('\n').filter(Boolean)).toEqual(['en', 'en@quot', 'en_GB', 'locale.alias', 'pt_BR']);
  });

  it('debian-minimize: apt lists and caches, backups and logs removed; dpkg and apt configured', async () => {
    const files = {
      'tree/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease': 'x\n',
      'tree/var/cache/apt/pkgcache.bin': 'x\n',
      'tree/var/cache/apt/archives/pkg_1.0_amd64.deb': 'x\n',
      'tree/var/lib/dpkg/status-old': 'x\n',
      'tree/var/lib/dpkg/status': 'Package: x\n',
      'tree/var/log/dpkg.log': 'x\n',
      'tree/var/log/apt/history.log': 'x\n',
      'tree/usr/share/doc/pkg/copyright': 'x\n',
      'tree/usr/share/locale/de/LC_MESSAGES/pkg.mo': 'x\n',
    };
    const { root } = await build(`${BUSYBOX}COPY tree/ /\nINCLUDE debian-minimize\n`, files);
    for (const gone of [
      'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease',
      'var/cache/apt/pkgcache.bin',
      'var/cache/apt/archives/pkg_1.0_amd64.deb',
      'var/lib/dpkg/status-old',
      'var/log/dpkg.log',
      'var/log/apt/history.log',
      'usr/share/doc',
      'usr/share/locale/de',
    ])
      expect(exists(path.join(root, gone)), gone).toBe(false);
    expect(readFileSync(path.join(root, 'var/lib/dpkg/status'), 'utf8')).toBe('Package: x\n');
    expect(readFileSync(path.join(root, 'etc/dpkg/dpkg.cfg.d/01-rootc-nodoc'), 'utf8')).toMatch(
      /^path-exclude \/usr\/share\/doc\/\*\npath-include \/usr\/share\/doc\/\*\/copyright\n/,
    );
    expect(readFileSync(path.join(root, 'etc/apt/apt.conf.d/01-rootc-minimize'), 'utf8')).toContain(
      'APT::Install-Recommends "false";',
    );
  });

  it('glibc-runtime + ldconfig: nsswitch.conf, hosts, ld.so.conf, an ld.so.cache; a --deps program runs', async () => {
    const { ref, root } = await build(
      'FROM scratch\nCOPY --from=host --deps /bin/ls /bin/\nCOPY --from=host /sbin/ldconfig /sbin/ldconfig\n' +
        'INCLUDE glibc-runtime HOSTNAME=box\nINCLUDE ldconfig\nCMD ["/bin/ls", "/etc"]\n',
    );
    expect(readFileSync(path.join(root, 'etc/nsswitch.conf'), 'utf8')).toMatch(/^hosts: +files dns$/m);
    expect(readFileSync(path.join(root, 'etc/hosts'), 'utf8')).toMatch(/^127\.0\.0\.1\tlocalhost box$/m);
    expect(readFileSync(path.join(root, 'etc/ld.so.conf'), 'utf8')).toBe(
      'include /etc/ld.so.conf.d/*.conf\n',
    );
    // glibc's cache format: "glibc-ld.so.cache1.1" (the old "ld.so-1.7.0" header may come first).
    expect(readFileSync(path.join(root, 'etc/ld.so.cache')).toString('latin1')).toContain(
      'glibc-ld.so.cache',
    );
    const r = await dockerRun(ref);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(
      expect.arrayContaining(['host.conf', 'ld.so.cache', 'nsswitch.conf']),
    );
  });

  it('gentoo-stage3: environment, empty repository and distfiles mount points, no leftover caches', async () => {
    const files = {
      'stage3/var/cache/distfiles/gcc-13.tar.xz': 'x\n',
      'stage3/var/cache/binpkgs/Packages': 'x\n',
      'stage3/var/tmp/portage/sys-libs/x/temp/build.log': 'x\n',
      'stage3/var/log/emerge.log': 'x\n',
      'stage3/var/log/portage/elog/summary.log': 'x\n',
      'stage3/etc/gentoo-release': 'Gentoo Base System release 2.17\n',
    };
    const { ref, root } = await build(
      `${BUSYBOX}COPY stage3/ /\nINCLUDE gentoo-stage3 LANG=en_US.UTF-8\nCMD ["/bin/sh", "-c", "echo $LANG; ls -A /var/db/repos/gentoo /var/cache/distfiles"]\n`,
      files,
    );
    for (const gone of [
      'var/cache/distfiles/gcc-13.tar.xz',
      'var/cache/binpkgs/Packages',
      'var/tmp/portage',
      'var/log/emerge.log',
      'var/log/portage/elog',
    ])
      expect(exists(path.join(root, gone)), gone).toBe(false);
    expect(statSync(path.join(root, 'var/db/repos/gentoo')).isDirectory()).toBe(true);
    expect(readFileSync(path.join(root, 'etc/gentoo-release'), 'utf8')).toMatch(/^Gentoo/);
    const env = (await dockerInspect(ref)).Config.Env ?? [];
    expect(env).toEqual(expect.arrayContaining(['LANG=en_US.UTF-8', 'TERM=linux']));
    expect(env.find((e) => e.startsWith('PATH='))).toBe(
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    );
    const r = await dockerRun(ref);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('en_US.UTF-8\n/var/cache/distfiles:\n\n/var/db/repos/gentoo:\n');
  });
});
