import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The sandbox and snapshot tests need root (namespaces, mounts, chown) and a static busybox. */
export const IS_ROOT = process.getuid?.() === 0;
export const BUSYBOX = '/bin/busybox';
export const HAVE_BUSYBOX = existsSync(BUSYBOX);
export const CAN_RUN = IS_ROOT && HAVE_BUSYBOX;
if (!CAN_RUN) {
  // One clear line instead of a wall of failures on a developer machine.
  process.stderr.write(
    `sandbox/snapshot tests skipped: need root and a static busybox at ${BUSYBOX} (package busybox-static)\n`,
  );
}

export async function tempDir(prefix = 'rootc-test-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** A small rootfs: static busybox with one symlink per applet, /etc/passwd and /etc/group, no /proc, /dev… */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await mkdir(path.join(dir, 'etc'));
  await copyFile(BUSYBOX, path.join(dir, 'bin/busybox'));
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') await symlink('busybox', path.join(dir, 'bin', a));
  await writeFile(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000:Builder:/home/builder:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(
    path.join(dir, 'etc/group'),
    'root:x:0:\nbuilder:x:1000:\nstaff:x:50:builder\nnogroup:x:65534:\n',
  );
  return dir;
}

/** Mount points (from the host's /proc/self/mountinfo) at or under `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const abs = path.resolve(dir);
  return info
    .split('\n')
    .map((l) =>
      (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) =>
        String.fromCharCode(Number.parseInt(o, 8)),
      ),
    )
    .filter((m) => m === abs || m.startsWith(`${abs}/`));
}

/** Pids of processes whose root directory is `rootfs` or below (i.e. still running in the sandbox). */
export async function processesIn(rootfs: string): Promise<number[]> {
  const { readdir, readlink } = await import('node:fs/promises');
  const abs = path.resolve(rootfs);
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const root = await readlink(`/proc/${name}/root`);
      if (root === abs || root.startsWith(`${abs}/`)) pids.push(Number(name));
    } catch {
      // gone or not ours to read
    }
  }
  return pids;
}

/** Pids of processes whose environment has exactly `entry` (a `K=V` marker given to the step). */
export async function processesWithEnv(entry: string): Promise<number[]> {
  const { readdir, readFile: read } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const env = (await read(`/proc/${name}/environ`)).toString('utf8').split('\0');
      if (env.includes(entry)) pids.push(Number(name));
    } catch {
      // gone, or a kernel thread
    }
  }
  return pids;
}
