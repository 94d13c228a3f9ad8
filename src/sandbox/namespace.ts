import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { SINGLE_ID_NOTES_ENV } from '../fsutil/owner.js';
import { findHostTool } from './hosttools.js';

/** Set in the environment of the re-executed rootc: the build namespace is already entered. */
export const BUILD_NS_ENV = 'ROOTC_IN_BUILD_NS';

/**
 * Whether this process is in a user namespace (not the initial one): overlayfs then needs `userxattr`,
 * and sysfs cannot be mounted without a network namespace of our own.
 */
export function inUserNamespace(): boolean {
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return !(map[0] === '0' && map[1] === '0' && map[2] === '4294967295');
  } catch {
    return false;
  }
}

export function inBuildNamespace(): boolean {
  return process.env[BUILD_NS_ENV] === '1';
}

/** Whether rootc runs as real root (mount namespace only) or must map itself in a user namespace. */
export function buildNamespaceMode(): 'root' | 'rootless' {
  return process.getuid?.() === 0 ? 'root' : 'rootless';
}

/**
 * The command that re-executes `argv` (normally `[process.execPath, ...process.execArgv, ...process.argv.slice(1)]`)
 * in the build namespace: a private mount namespace, so every mount of the build disappears with it even
 * on SIGKILL; rootless, also a user namespace mapping the caller to root and the image's other ids to the
 * caller's subordinate range (`--map-auto`), or — without subordinate ids or newuidmap — the caller alone
 * (`--map-root-user`: the single-id mode of fsutil/owner.ts). `setpriv --pdeathsig` makes the child die
 * with its parent.
 */
export function buildNamespaceCommand(argv: string[]): string[] {
  const unshare = findHostTool('unshare');
  if (!unshare) {
    throw new DiagnosticError(
      error(
        'build/missing-host-tool',
        'rootc build needs util-linux "unshare" on the host; it was not found',
      ),
    );
  }
  const mode = buildNamespaceMode();
  const ns =
    mode === 'root'
      ? ['--mount', '--propagation', 'private']
      : subordinateIdProblems().length > 0
        ? ['--user', '--map-root-user', '--mount', '--propagation', 'private']
        : ['--user', '--map-auto', '--map-root-user', '--mount', '--propagation', 'private'];
  const setpriv = findHostTool('setpriv');
  const prefix = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
  return [...prefix, unshare, ...ns, '--', ...argv];
}

/**
 * glibc malloc settings for the build process (a user's own MALLOC_* / GLIBC_TUNABLES settings win). It streams
 * layers and files through 1 MiB buffers, one per read, and glibc gives each such block its own mmap (its
 * threshold starts at 128 KiB), so every megabyte read costs 256 page faults and an munmap: on the test VMs,
 * whose page-table updates are expensive, copying 200 MB that way took 180–380 ms against 40 ms with one
 * reused buffer. Below a 4 MiB threshold, blocks come from the heap and freed ones are reused; 64 MiB of free
 * heap may stay mapped. Measured on W1, cold builds in interleaved pairs: medians 4.16 s against 4.55 s (6 pairs,
 * 4 faster); with a 32 MiB / 256 MiB pair of settings, 5 of 6 faster, median −0.23 s. Peak RSS unchanged.
 *
 * The heap still grows into fresh memory while a base is converted (the buffers are freed only when V8
 * collects them). `glibc.malloc.hugetlb=1` (glibc ≥ 2.35; older ones ignore it) asks for transparent huge
 * pages for it (with THP in `madvise` mode, Debian's default), one fault per 2 MiB instead of 512; reading
 * and hashing W1's 200 MB base tarball through a stream: 197 ms against 321 ms. `arena_max=1` keeps the
 * threads (layer worker, digest worker, libuv pool) on the one heap instead of an arena each, each arena
 * fresh memory again. W1, 4 interleaved cold builds each: medians 4.25 s with both, 4.52 s with arena_max
 * alone, 4.82 s with neither; peak RSS 156–204 MB against 179–183 MB (hugetlb alone: up to 234 MB).
 */
const BUILD_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(4 << 20),
  MALLOC_TRIM_THRESHOLD_: String(64 << 20),
  GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1',
};

/**
 * Re-executes the current rootc process inside the build namespace and resolves with the child's exit
 * code (128+n when killed by signal n), forwarding SIGINT and SIGTERM to it. Resolves immediately with
 * `undefined` when already inside. The caller (the CLI) sets `process.exitCode` from the result; library
 * code never exits.
 */
export async function reexecInBuildNamespace(
  argv: string[] = [process.execPath, ...process.execArgv, ...process.argv.slice(1)],
): Promise<number | undefined> {
  if (inBuildNamespace()) return undefined;
  const command = buildNamespaceCommand(argv);
  // Single-id mode: what its diagnostics should tell the user to do (the namespace's own user is root).
  const notes = buildNamespaceMode() === 'rootless' ? subordinateIdProblems() : [];
  // A session of its own: Ctrl-C at a terminal signals the foreground group, so without it the child
  // would get SIGINT twice (from the terminal and forwarded) and die on the second before cleaning up.
  // It reads no terminal input; pdeathsig still ties it to this process.
  const child = spawn(command[0]!, command.slice(1), {
    stdio: 'inherit',
    env: {
      ...BUILD_MALLOC_ENV,
      ...process.env,
      [BUILD_NS_ENV]: '1',
      ...(notes.length > 0 ? { [SINGLE_ID_NOTES_ENV]: notes.join('\n') } : {}),
    },
    detached: true,
  });
  const forward = (sig: NodeJS.Signals) => () => {
    child.kill(sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        if (signal) {
          const n = (
            { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 } as Record<
              string,
              number
            >
          )[signal];
          resolve(128 + (n ?? 0));
        } else resolve(code ?? 1);
      });
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/**
 * What keeps the caller from a full rootless mapping: subordinate ids (/etc/subuid, /etc/subgid) and the
 * setuid helpers of package uidmap, each as the exact thing to do. Empty when both are there.
 */
export function subordinateIdProblems(user = userInfo()): string[] {
  const missing: string[] = [];
  for (const tool of ['newuidmap', 'newgidmap']) if (!findHostTool(tool)) missing.push(tool);
  const hasRange = (file: string) => {
    try {
      return readFileSync(file, 'utf8')
        .split('\n')
        .some((l) => {
          const owner = l.split(':')[0];
          return owner === user.username || owner === String(user.uid);
        });
    } catch {
      return false;
    }
  };
  const notes: string[] = [];
  if (missing.length > 0) notes.push(`install package uidmap (${missing.join(', ')} not found)`);
  if (!hasRange('/etc/subuid') || !hasRange('/etc/subgid')) {
    notes.push(
      `add subordinate ids for ${user.username}: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user.username}`,
    );
  }
  return notes;
}
