/**
 * FROM debootstrap without running debootstrap: the host mirror found in deb822 and one-line apt sources, the
 * architecture name, and the cache index that lets a second build skip debootstrap. The real run (bookworm
 * minbase, apt-get in docker) is in test/e2e/bases.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/diagnostic.js';
import { BlobStore } from '../../src/image/blobstore.js';
import { imageArchitecture } from '../../src/image/config.js';
import {
  debianArch,
  debootstrapSource,
  hostMirror,
  mknodShim,
  parseDeb822Sources,
  parseSourcesList,
  readNodeRecords,
} from '../../src/sources/debootstrap.js';
import { tempDirSync } from '../support/index.js';

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example.org/debian
Suites: trixie
`;

describe('host apt sources', () => {
  it('parses deb822 stanzas (deb only, Enabled: no skipped) and one-line entries', () => {
    expect(parseDeb822Sources(DEB822)).toEqual([
      { uri: 'http://deb.debian.org/debian', suites: ['bookworm', 'bookworm-updates'] },
      { uri: 'http://deb.debian.org/debian-security', suites: ['bookworm-security'] },
    ]);
    expect(parseDeb822Sources('Types: deb\nURIs: http://x/debian\nSuites: sid\nEnabled: no\n')).toEqual([]);
    expect(
      parseSourcesList(
        '# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\ndeb-src http://x sid main\n',
      ),
    ).toEqual([{ uri: 'http://mirror.example/debian', suites: ['bookworm'] }]);
  });

  it('picks the source for the suite, else a plain archive, else deb.debian.org', () => {
    const root = tempDirSync('apt-root');
    mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
    writeFileSync(path.join(root, 'etc/apt/sources.list.d/debian.sources'), DEB822);
    writeFileSync(path.join(root, 'etc/apt/sources.list'), 'deb http://old.example/debian trixie main\n');
    expect(hostMirror('bookworm', root)).toBe('http://deb.debian.org/debian');
    expect(hostMirror('trixie', root)).toBe('http://old.example/debian');
    expect(hostMirror('sid', root)).toBe('http://deb.debian.org/debian');
    const empty = tempDirSync('apt-empty');
    expect(hostMirror('bookworm', empty)).toBe('http://deb.debian.org/debian');
  });

  it("names this machine's architecture as dpkg does", () => {
    expect(debianArch('x64')).toBe('amd64');
    expect(debianArch('arm64')).toBe('arm64');
    expect(debianArch('arm')).toBe('armhf');
    expect(debianArch('ia32')).toBe('i386');
  });
});

describe('FROM debootstrap for another platform', () => {
  it('is refused before anything runs', async () => {
    const dir = tempDirSync('deboot-foreign');
    const other = imageArchitecture().architecture === 'amd64' ? 'arm64' : 'amd64';
    const err = await debootstrapSource
      .resolve(
        { suite: 'bookworm', include: [] },
        {
          store: new BlobStore(path.join(dir, 'store')),
          cacheDir: dir,
          platform: { os: 'linux', architecture: other },
        },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnosticError);
    expect((err as DiagnosticError).diagnostics[0]!.code).toBe('source/debootstrap-platform');
  });
});

describe('the mknod shim of a rootless debootstrap', () => {
  it('makes an empty file with the mode for a char or block node and records it; fifos are real', () => {
    const dir = tempDirSync('mknod-shim');
    const shim = path.join(dir, 'mknod');
    const real = execFileSync('sh', ['-c', 'command -v mknod']).toString().trim();
    writeFileSync(shim, mknodShim(real), { mode: 0o755 });
    const record = path.join(dir, 'nodes');
    writeFileSync(record, '');
    const target = path.join(dir, 'target');
    mkdirSync(path.join(target, 'etc'), { recursive: true });
    const env = { ...process.env, ROOTC_DEBOOTSTRAP_NODES: record };
    const mknod = (...args: string[]) => execFileSync(shim, args, { env, stdio: 'pipe' });
    // Not under a directory named dev: no bind mount is tried (debootstrap's check_sane_mount node).
    mknod('-m', '666', path.join(target, 'etc/null'), 'c', '1', '3');
    mknod('-m660', path.join(target, 'etc/sda'), 'b', '8', '0');
    mknod(path.join(target, 'etc/gone'), 'c', '1', '5');
    mknod('-m', '600', path.join(target, 'etc/fifo'), 'p');
    expect(() => mknod('-m', '666', path.join(target, 'etc/null'), 'c', '1', '3')).toThrow(/File exists/);
    execFileSync('rm', [path.join(target, 'etc/gone')]);

    const null_ = lstatSync(path.join(target, 'etc/null'));
    expect(null_.isFile() && null_.size === 0 && (null_.mode & 0o7777) === 0o666).toBe(true);
    expect(lstatSync(path.join(target, 'etc/sda')).mode & 0o7777).toBe(0o660);
    expect(lstatSync(path.join(target, 'etc/fifo')).isFIFO()).toBe(true);
    expect(readFileSync(record, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    // Only what is still there, as an empty regular file, becomes a node.
    expect([...readNodeRecords(record, target)]).toEqual([
      ['etc/null', { type: 'char', major: 1, minor: 3 }],
      ['etc/sda', { type: 'block', major: 8, minor: 0 }],
    ]);
  });
});
