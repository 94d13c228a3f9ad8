/**
 * FROM debootstrap without running debootstrap: the host mirror found in deb822 and one-line apt sources, the
 * architecture name, and the cache index that lets a second build skip debootstrap. The real run (bookworm
 * minbase, apt-get in docker) is in test/e2e/bases.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/diagnostic.js';
import { BlobStore } from '../../src/image/blobstore.js';
import { imageArchitecture } from '../../src/image/config.js';
import {
  debianArch,
  debootstrapSource,
  hostMirror,
  parseDeb822Sources,
  parseSourcesList,
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
