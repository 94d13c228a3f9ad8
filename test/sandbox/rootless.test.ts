import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, CAN_RUN, mountsUnder, tempDir } from './helpers.js';

/** The unprivileged user scripts/setup.sh creates, with a subordinate id range. */
const USER = 'rootc-test';
function userWithRange(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(
      execFileSync('id', ['-u', USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    const gid = Number(
      execFileSync('id', ['-g', USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    const ranges = readFileSync('/etc/subuid', 'utf8');
    if (!ranges.split('\n').some((l) => l.startsWith(`${USER}:`))) return undefined;
    return { uid, gid };
  } catch {
    return undefined;
  }
}
const user = CAN_RUN ? userWithRange() : undefined;
const ROOT = path.resolve(import.meta.dirname, '../..');

describe.skipIf(!user || !existsSync('/usr/bin/newuidmap'))(
  'rootless (as an unprivileged user with subordinate ids)',
  () => {
    let dir: string;
    let dist: string;
    beforeAll(async () => {
      dir = await tempDir();
      await chmod(dir, 0o755);
      // The runner is plain JS: compile the sandbox and snapshot modules (and what they import) for it.
      dist = path.join(dir, 'dist');
      // Type errors elsewhere must not stop this test: tsc still emits, and the runner's imports are checked below.
      spawnSync(
        'npx',
        [
          'tsc',
          '--ignoreConfig',
          '--outDir',
          dist,
          '--rootDir',
          'src',
          '--module',
          'nodenext',
          '--moduleResolution',
          'nodenext',
          '--target',
          'es2022',
          '--skipLibCheck',
          '--types',
          'node',
          'src/sandbox/run.ts',
          'src/sandbox/namespace.ts',
          'src/snapshot/index.ts',
        ],
        { cwd: ROOT, stdio: 'ignore' },
      );
      expect(existsSync(path.join(dist, 'snapshot/index.js'))).toBe(true);
      execFileSync('chmod', ['-R', 'a+rX', dist]);
    }, 120_000);
    afterAll(async () => {
      expect(await mountsUnder(dir)).toEqual([]);
      await rm(dir, { recursive: true, force: true });
    });

    function runAs(asUser: boolean, work: string) {
      mkdirSync(work);
      if (asUser) chownSync(work, user!.uid, user!.gid);
      const args = [path.join(ROOT, 'test/sandbox/rootless-runner.mjs'), dist, work, BUSYBOX];
      const env = { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') };
      const r = asUser
        ? spawnSync(
            'su',
            [
              USER,
              '-s',
              '/bin/sh',
              '-c',
              'cd / && NODE_PATH="$1" && export NODE_PATH && shift && exec "$@"',
              'sh',
            ].concat([env.NODE_PATH, process.execPath, ...args]),
            { encoding: 'utf8' },
          )
        : spawnSync(process.execPath, args, { encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
        userns: boolean;
        detected: string;
        layers: Record<string, { exitCode: number; output: string[]; entries: string[] }>;
      };
    }

    it('gives the same layers with the same ids as a root build, on both drivers', () => {
      const asRoot = runAs(false, path.join(dir, 'root'));
      const asUser = runAs(true, path.join(dir, 'user'));
      expect(asRoot.userns).toBe(false);
      expect(asUser.userns).toBe(true);
      expect(asUser.detected).toBe('overlay');
      expect(asRoot.layers.overlay!.entries).toEqual(
        [
          'd directory 755 0:0',
          'd/e directory 755 1000:1000',
          'd/f file 4755 1000:1000',
          'd/l symlink 777 0:0 -> f',
          '.wh.old file 0 0:0',
        ].sort((a, b) => (a < b ? -1 : 1)),
      );
      for (const driver of ['overlay', 'copy']) {
        expect(asUser.layers[driver]!.exitCode).toBe(0);
        expect(asUser.layers[driver]!.output).toEqual(['0']);
        expect(asUser.layers[driver]!.entries).toEqual(asRoot.layers.overlay!.entries);
        expect(asRoot.layers[driver]!.entries).toEqual(asRoot.layers.overlay!.entries);
      }
    }, 120_000);
  },
);
