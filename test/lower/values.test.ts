import { describe, expect, it } from 'vitest';
import { destination } from '../../src/lower/instructions.js';
import { normalizeImageRef } from '../../src/lower/reference.js';
import { closest } from '../../src/lower/suggest.js';
import {
  parseChecksum,
  parseChmod,
  parseDuration,
  parseExposedPort,
  parseSignal,
  parseUser,
} from '../../src/lower/values.js';

const okValue = <T>(r: { ok: true; value: T } | { ok: false; message: string }): T | 'error' =>
  r.ok ? r.value : 'error';

describe('value checks', () => {
  it.each([
    ['755', 0o755],
    ['0644', 0o644],
    ['4755', 0o4755],
    ['u+x', 'error'],
    ['999', 'error'],
    ['75', 'error'],
    ['07555', 'error'],
  ])('chmod %s', (text, expected) => expect(okValue(parseChmod(text))).toEqual(expected));

  it.each([
    ['80', ['80/tcp']],
    ['80/TCP', ['80/tcp']],
    ['53/udp', ['53/udp']],
    ['8000-8002/udp', ['8000/udp', '8001/udp', '8002/udp']],
    ['0', 'error'],
    ['65536', 'error'],
    ['80/http', 'error'],
    ['1.2.3.4:80:80', 'error'],
    ['x', 'error'],
    ['9-1', 'error'],
  ])('port %s', (text, expected) => expect(okValue(parseExposedPort(text))).toEqual(expected));

  it.each([
    ['SIGTERM', 'SIGTERM'],
    ['TERM', 'TERM'],
    ['sigkill', 'sigkill'],
    ['SIGRTMIN+3', 'SIGRTMIN+3'],
    ['9', '9'],
    ['0', 'error'],
    ['65', 'error'],
    ['SIGFOO', 'error'],
  ])('signal %s', (text, expected) => expect(okValue(parseSignal(text))).toEqual(expected));

  it.each([
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5h', 5400e9],
    ['500ms', 5e8],
    ['10us', 1e4],
    ['0', 0],
    ['abc', 'error'],
    ['10', 'error'],
    ['', 'error'],
    ['5s5', 'error'],
  ])('duration %s', (text, expected) => expect(okValue(parseDuration(text))).toEqual(expected));

  it.each([
    ['app', 'app'],
    ['1000:1000', '1000:1000'],
    ['a:b:c', 'error'],
    [':g', 'error'],
    ['a b', 'error'],
    ['', 'error'],
  ])('user %s', (text, expected) => expect(okValue(parseUser(text, 'USER'))).toEqual(expected));

  it('checksums', () => {
    expect(parseChecksum(`sha256:${'a'.repeat(64)}`).ok).toBe(true);
    expect(parseChecksum(`sha512:${'a'.repeat(128)}`).ok).toBe(true);
    expect(parseChecksum(`sha256:${'a'.repeat(63)}`).ok).toBe(false);
    expect(parseChecksum('md5:abc').ok).toBe(false);
  });
});

describe('image references', () => {
  it.each([
    ['debian', 'docker.io/library/debian:latest'],
    ['debian:bookworm', 'docker.io/library/debian:bookworm'],
    ['library/debian', 'docker.io/library/debian:latest'],
    ['user/app:1', 'docker.io/user/app:1'],
    ['index.docker.io/user/app', 'docker.io/user/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b:c', 'localhost:5000/a/b:c'],
    [`quay.io/x/y@sha256:${'b'.repeat(64)}`, `quay.io/x/y@sha256:${'b'.repeat(64)}`],
    ['Debian', 'error'],
    ['debian:', 'error'],
    ['debian:a:b', 'error'],
    ['-x', 'error'],
    ['a@sha256:12', 'error'],
  ])('%s', (text, expected) => expect(okValue(normalizeImageRef(text))).toBe(expected));
});

describe('destination (COPY/ADD)', () => {
  it.each([
    ['/', 'file', '/file'],
    ['/app', '.', '/app/'],
    ['/app', './', '/app/'],
    ['/app', 'sub/', '/app/sub/'],
    ['/app', '../x', '/x'],
    ['/app', '/abs', '/abs'],
    ['/app', '/abs/', '/abs/'],
    ['/', '.', '/'],
  ])('WORKDIR %s, dest %s → %s', (wd, dest, expected) => expect(destination(wd, dest)).toBe(expected));
});

describe('did you mean', () => {
  it.each([
    ['fromm', ['from', 'chown', 'chmod'], 'from'],
    ['biuld', ['build', 'test'], 'build'],
    ['netwrk', ['network', 'mount'], 'network'],
    ['zzz', ['build'], undefined],
    ['build', ['build'], undefined],
  ])('%s', (name, candidates, expected) => expect(closest(name, candidates)).toBe(expected));
});
