import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStep } from '../../src/sandbox/run.js';
import { CAN_RUN, makeBusyboxRootfs, mountsUnder, tempDir } from './helpers.js';

describe.skipIf(!CAN_RUN)('runStep', () => {
  let base: string;
  let rootfs: string;
  beforeAll(async () => {
    base = await tempDir();
    rootfs = await makeBusyboxRootfs(path.join(base, 'rootfs'));
  });
  afterAll(async () => {
    expect(await mountsUnder(base)).toEqual([]);
    await rm(base, { recursive: true, force: true });
  });

  it('runs a command and captures its output', async () => {
    const lines: string[] = [];
    const r = await runStep({
      rootfs,
      argv: ['/bin/sh', '-c', 'echo hello; echo oops >&2; exit 3'],
      onOutput: (l) => lines.push(`${l.stream}:${l.line}`),
    });
    expect(r.exitCode).toBe(3);
    expect(lines).toContain('stdout:hello');
    expect(lines).toContain('stderr:oops');
    expect(r.outputTail).toEqual(expect.arrayContaining(['hello', 'oops']));
  });

  it('prints what the sandbox looks like', async () => {
    const lines: string[] = [];
    const r = await runStep({
      rootfs,
      argv: [
        '/bin/sh',
        '-c',
        'id; pwd; env | sort; ls -la /dev; cat /etc/hosts; hostname; echo pid=$$; mount',
      ],
      workdir: '/work/dir',
      user: { uid: 1000, gid: 1000 },
      onOutput: (l) => lines.push(l.line),
    });
    console.log(lines.join('\n'));
    expect(r.exitCode).toBe(0);
    expect(await lstat(path.join(rootfs, 'proc')).catch(() => undefined)).toBeUndefined();
  });
});
