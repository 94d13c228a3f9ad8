/**
 * A stage3-like release for tests: a small rootfs (static busybox as /bin/busybox, /bin/sh linking to it,
 * /bin/bash a wrapper script running it, /etc, device nodes in /dev), a DIGESTS file in catalyst's format, throwaway OpenPGP keys
 * (gpg --quick-gen-key in a temp GNUPGHOME) and a tiny HTTP server on 127.0.0.1 serving variants of the release:
 *
 *   /good/…               clearsigned DIGESTS (Gentoo since 2021)
 *   /detached/…           plain DIGESTS + detached .DIGESTS.asc
 *   /tampered-tarball/…   the tarball changed after the DIGESTS was made
 *   /tampered-digests/…   the clearsigned DIGESTS edited after signing
 *   /other-key/…          DIGESTS clearsigned by a key that is not in the keyring
 *   /no-sha512/…          DIGESTS (signed) with BLAKE2B lines only
 *   /unsigned/…           plain DIGESTS, no signature anywhere
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export const STAGE3_NAME = 'stage3-amd64-openrc-20260101T000000Z.tar.xz';

export interface Stage3Release {
  dir: string;
  /** Binary public keyring of the signing key (what --keyring= gets). */
  keyring: string;
  /** The same key, ASCII-armored. */
  armoredKeyring: string;
  baseUrl: string;
  url(variant: string): string;
  close(): Promise<void>;
}

const sum = (algo: string, data: Buffer) => createHash(algo).update(data).digest('hex');

function digestsText(tarball: Buffer, contents: Buffer, algos: string[]): string {
  let s = '';
  for (const [name, data] of [
    [STAGE3_NAME, tarball],
    [`${STAGE3_NAME}.CONTENTS.gz`, contents],
  ] as const) {
    for (const a of algos)
      s += `# ${a.toUpperCase()} HASH\n${sum(a === 'blake2b' ? 'blake2b512' : a, data)}  ${name}\n`;
  }
  return s;
}

function gpg(home: string, args: string[], input?: string): Buffer {
  return execFileSync(
    'gpg',
    ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    {
      ...(input !== undefined ? { input } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
}

export async function makeStage3Release(root: string): Promise<Stage3Release> {
  // The rootfs.
  const tree = path.join(root, 'tree');
  for (const d of ['bin', 'etc', 'dev', 'usr/bin', 'var/tmp', 'root'])
    mkdirSync(path.join(tree, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(tree, 'bin/busybox'));
  execFileSync('chmod', ['755', path.join(tree, 'bin/busybox')]);
  // Debian's busybox has no `bash` applet, so /bin/bash is a wrapper rather than a link to it.
  writeFileSync(path.join(tree, 'bin/bash'), '#!/bin/busybox sh\nexec /bin/busybox sh "$@"\n', {
    mode: 0o755,
  });
  symlinkSync('busybox', path.join(tree, 'bin/sh'));
  writeFileSync(path.join(tree, 'etc/os-release'), 'NAME=Gentoo\nID=gentoo\n');
  writeFileSync(path.join(tree, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(path.join(tree, 'etc/group'), 'root:x:0:\n');
  execFileSync('mknod', ['-m', '666', path.join(tree, 'dev/null'), 'c', '1', '3']);
  execFileSync('mknod', ['-m', '600', path.join(tree, 'dev/console'), 'c', '5', '1']);
  execFileSync('mknod', ['-m', '660', path.join(tree, 'dev/sda'), 'b', '8', '0']);
  const tarball = path.join(root, STAGE3_NAME);
  execFileSync('tar', ['--numeric-owner', '--xattrs', '-C', tree, '-cJf', tarball, '.']);
  const tarBytes = readFileSync(tarball);
  const contents = Buffer.from('fake CONTENTS.gz');

  // Keys: A signs, B is a stranger.
  const keys = path.join(root, 'gnupg');
  const homeA = path.join(keys, 'a');
  const homeB = path.join(keys, 'b');
  for (const h of [homeA, homeB]) mkdirSync(h, { recursive: true, mode: 0o700 });
  gpg(homeA, [
    '--quick-gen-key',
    'Gentoo Test Release <release@example.invalid>',
    'ed25519',
    'sign',
    'never',
  ]);
  gpg(homeB, ['--quick-gen-key', 'Stranger <stranger@example.invalid>', 'ed25519', 'sign', 'never']);
  const keyring = path.join(root, 'release-keys.gpg');
  writeFileSync(keyring, gpg(homeA, ['--export']));
  const armoredKeyring = path.join(root, 'release-keys.asc');
  writeFileSync(armoredKeyring, gpg(homeA, ['--armor', '--export']));
  const clearsign = (home: string, text: string) =>
    gpg(home, ['--clearsign', '--digest-algo', 'SHA512'], text).toString();
  const detach = (home: string, text: string) => gpg(home, ['--armor', '--detach-sign'], text).toString();

  const good = digestsText(tarBytes, contents, ['blake2b', 'sha512']);
  const variants: Record<string, Record<string, Buffer | string>> = {
    good: { [STAGE3_NAME]: tarBytes, [`${STAGE3_NAME}.DIGESTS`]: clearsign(homeA, good) },
    detached: {
      [STAGE3_NAME]: tarBytes,
      [`${STAGE3_NAME}.DIGESTS`]: good,
      [`${STAGE3_NAME}.DIGESTS.asc`]: detach(homeA, good),
    },
    'tampered-tarball': {
      [STAGE3_NAME]: Buffer.concat([tarBytes, Buffer.alloc(512)]),
      [`${STAGE3_NAME}.DIGESTS`]: clearsign(homeA, good),
    },
    'tampered-digests': {
      [STAGE3_NAME]: tarBytes,
      [`${STAGE3_NAME}.DIGESTS`]: (() => {
        // Someone swaps in the SHA512 of another tarball after the file was signed.
        const signed = clearsign(homeA, good);
        const sha = sum('sha512', tarBytes);
        return signed.replace(sha, sum('sha512', Buffer.from('evil')));
      })(),
    },
    'other-key': { [STAGE3_NAME]: tarBytes, [`${STAGE3_NAME}.DIGESTS`]: clearsign(homeB, good) },
    'no-sha512': {
      [STAGE3_NAME]: tarBytes,
      [`${STAGE3_NAME}.DIGESTS`]: clearsign(homeA, digestsText(tarBytes, contents, ['blake2b'])),
    },
    unsigned: { [STAGE3_NAME]: tarBytes, [`${STAGE3_NAME}.DIGESTS`]: good },
  };
  // Signing started a gpg-agent per home; nothing signs after this, so they are stopped (not left running).
  for (const h of [homeA, homeB]) {
    try {
      execFileSync('gpgconf', ['--homedir', h, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    } catch {
      // no agent, or no gpgconf: nothing to stop
    }
  }
  const served = path.join(root, 'www');
  for (const [v, files] of Object.entries(variants)) {
    mkdirSync(path.join(served, v), { recursive: true });
    for (const [n, data] of Object.entries(files)) writeFileSync(path.join(served, v, n), data);
  }

  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(served, path.normalize(rel));
    try {
      const data = readFileSync(file);
      res.writeHead(200, { 'content-length': data.length });
      res.end(data);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    dir: served,
    keyring,
    armoredKeyring,
    baseUrl,
    url: (variant) => `${baseUrl}/${variant}/${STAGE3_NAME}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
