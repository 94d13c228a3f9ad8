import { readFile, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILD_NS_ENV,
  buildNamespaceCommand,
  inBuildNamespace,
  inUserNamespace,
  reexecInBuildNamespace,
} from '../../src/sandbox/namespace.js';
import { IS_ROOT, mountsUnder, tempDir } from './helpers.js';

describe.skipIf(!IS_ROOT)('build namespace', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is not entered yet in the test process, and root needs no user namespace', () => {
    expect(inBuildNamespace()).toBe(false);
    expect(inUserNamespace()).toBe(false);
    const cmd = buildNamespaceCommand(['/bin/true']);
    expect(cmd).toEqual(expect.arrayContaining(['--mount', '--propagation', 'private', '--', '/bin/true']));
    expect(cmd).not.toContain('--user');
  });

  it('re-executes in a private mount namespace whose mounts vanish with it, and returns its exit code', async () => {
    const out = path.join(dir, 'out');
    const mnt = path.join(dir, 'mnt');
    const script = `mkdir -p "$2" && mount -t tmpfs tmpfs "$2" && { readlink /proc/self/ns/mnt; echo "$${BUILD_NS_ENV}"; } > "$1"; exit 7`;
    const code = await reexecInBuildNamespace(['/bin/sh', '-c', script, 'sh', out, mnt]);
    expect(code).toBe(7);
    const [ns, marker] = (await readFile(out, 'utf8')).trim().split('\n');
    expect(ns).not.toBe(await readlink('/proc/self/ns/mnt'));
    expect(marker).toBe('1');
    expect(await mountsUnder(mnt)).toEqual([]);
  });

  it('reports a child killed by a signal as 128+n', async () => {
    expect(await reexecInBuildNamespace(['/bin/sh', '-c', 'kill -TERM $$'])).toBe(143);
  });
});
