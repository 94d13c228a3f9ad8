import { spawn } from 'node:child_process';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { processAlive } from '../fsutil/process.js';
import { findHostTool } from './hosttools.js';
import { MountStubs } from './mountpoints.js';
import { inUserNamespace } from './namespace.js';
import { ensureWorkdir } from './workdir.js';

export type NetworkMode = 'default' | 'none' | 'host';

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface RunStepOptions {
  /** The tree to run in: a complete rootfs or an overlay merged dir. */
  rootfs: string;
  /** Already resolved: exec form as is, shell form as `[...SHELL, script]`. */
  argv: string[];
  /** `K=V` entries. PATH gets Docker's default and HOME the user's home when absent. */
  env?: string[];
  /** Ids inside the image (see `resolveUser`); `groups` are the supplementary gids (none by default). */
  user?: { uid: number; gid: number; home?: string; groups?: number[] };
  /** Image path; created if missing, owned by the user (BuildKit). Default `/`. */
  workdir?: string;
  /** `default` is the host network (no bridge without a daemon); `none` is a new, empty namespace with `lo` up. */
  network?: NetworkMode;
  hostname?: string;
  /** Each line of output as it comes (stdout and stderr, interleaved in arrival order). */
  onOutput?: (line: OutputLine) => void;
  /** How many trailing lines to keep for the failure diagnostic (default 20). */
  tailLines?: number;
  signal?: AbortSignal;
  /** Where the step's small scratch dir (fstab, /dev and root skeletons, hosts) goes; default the OS tmpdir. */
  scratchDir?: string;
  /**
   * Files the command sees read-only under `/dev/pipes/` for this run only, never in the snapshot (a RUN
   * heredoc with a shebang runs as such a file, as BuildKit does).
   */
  inlineFiles?: { path: string; content: string; mode: number }[];
}

export interface RunStepResult {
  /** The command's exit status; 128+n when it was killed by signal n. */
  exitCode: number;
  /** Set when the command was killed by a signal (e.g. `SIGKILL`). */
  signal?: string;
  /** The last lines of output (stdout and stderr interleaved). */
  outputTail: string[];
  durationMs: number;
}

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_HOSTNAME = 'rootc';
const SCRATCH_PREFIX = 'rootc-run-';
const MAX_LINE = 4096;
/** Exit status of the setup script when it fails before the command starts. */
const SETUP_FAILED = 125;

/*
 * Runs on the host side, as pid 1 of the step's new pid namespace, inside its new mount/uts/ipc(/net)
 * namespaces: mounts everything listed in the generated fstab with one `mount -a` (each process costs
 * 10–20 ms here, so the setup is one mount(8) and a few execs), then execs
 * `env -i K=V… setpriv --regid=G --groups=… unshare --root=R --wd=W --setuid U -- argv`: setpriv sets the
 * gid and supplementary groups while still root, unshare chroots and drops the uid (its own --setgid
 * would clear the supplementary groups).
 * All values come in as positional parameters, never spliced into the text. Setup errors go to fd 3 so
 * they cannot be confused with the command's output or exit status. When the namespace dies, every mount
 * goes with it.
 */
const STARTED = 'rootc-sandbox-started';
const SETUP_SCRIPT = `
printf '${STARTED}\\n' >&3
fail() { printf 'rootc-sandbox: %s\\n' "$*" >&3; exit ${SETUP_FAILED}; }
fstab=$1 hn=$2 net=$3 ip_bin=$4 root=$5 wd=$6 uid=$7 gid=$8 unshare_bin=$9 env_bin=\${10} setpriv_bin=\${11}
groups=\${12} caps=\${13} newroot=\${14} pivot_bin=\${15} nenv=\${16}
shift 16
if [ "$net" = none ] && [ -n "$ip_bin" ]; then "$ip_bin" link set lo up 2>&3 || fail "cannot bring lo up"; fi
# /proc/sys is not writable by a user namespace's root: then sethostname(2) through hostname(1).
{ printf '%s' "$hn" > /proc/sys/kernel/hostname; } 2>/dev/null || hostname "$hn" 2>&3 || fail "cannot set the hostname"
mount -a -T "$fstab" 2>&3 || fail "cannot mount the sandbox filesystems"
if [ -n "$newroot" ]; then
  # The namespace's root becomes a skeleton (the host's /usr & co read-only, the rootfs at /rootfs), and the
  # host root is detached: a RUN that gets out of its chroot finds nothing of the host to write to.
  cd "$newroot" && "$pivot_bin" . .old 2>&3 || fail "cannot pivot_root"
  umount -l /.old 2>&3 || fail "cannot detach the host root"
  cd / && root=/rootfs
fi
nargv=$(($# - nenv))
set -- "$@" "$env_bin" -i --
i=0; while [ $i -lt "$nenv" ]; do set -- "$@" "$1"; shift; i=$((i + 1)); done
if [ -n "$setpriv_bin" ] && [ -n "$groups" ]; then
  set -- "$@" "$setpriv_bin" "--bounding-set=$caps" "--regid=$gid" "--groups=$groups" -- "$unshare_bin" "--root=$root" "--wd=$wd" --setuid "$uid" --
elif [ -n "$setpriv_bin" ]; then
  set -- "$@" "$setpriv_bin" "--bounding-set=$caps" "--regid=$gid" --clear-groups -- "$unshare_bin" "--root=$root" "--wd=$wd" --setuid "$uid" --
else
  set -- "$@" "$unshare_bin" "--root=$root" "--wd=$wd" --setgid "$gid" --setuid "$uid" --
fi
i=0; while [ $i -lt "$nargv" ]; do set -- "$@" "$1"; shift; i=$((i + 1)); done
exec 3>&-
exec "$@"
`;

/**
 * Capabilities a RUN keeps: Docker's default set (0xa80425fb). No CAP_SYS_ADMIN (mount, remount the rootfs
 * with dev, pivot), CAP_NET_ADMIN (the host network is shared by default), CAP_SYS_MODULE, CAP_SYS_RAWIO…
 * CAP_SYS_CHROOT stays, as in Docker, and because `unshare --root` needs it after setpriv; a root RUN
 * could leave its chroot with it, but only into the pivoted skeleton root (read-only host /usr, no host /).
 */
const BOUNDING_SET =
  '-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,+net_raw,+sys_chroot,+mknod,+audit_write,+setfcap';

/** Host directories the setup and the exec chain need after pivot_root (mirrored read-only, or as symlinks). */
const HOST_SYSTEM_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * The step's mount namespace root after pivot_root: `/usr` and the other system directories of the host
 * (bound read-only; merged-/usr symlinks copied as symlinks), `/rootfs` for the image, `/.old` for the
 * host root until it is detached.
 */
async function makeRootSkeleton(dir: string): Promise<{ dir: string; binds: string[][] }> {
  await mkdir(dir, { mode: 0o755 });
  await mkdir(path.join(dir, '.old'));
  await mkdir(path.join(dir, 'rootfs'));
  // umount(8) reads /proc/self/mountinfo: until the host root is detached, /proc is the host's.
  await symlink('.old/proc', path.join(dir, 'proc'));
  const binds: string[][] = [];
  for (const name of HOST_SYSTEM_DIRS) {
    const host = `/${name}`;
    const st = await lstat(host).catch(() => undefined);
    if (st?.isSymbolicLink()) await symlink(await readlink(host), path.join(dir, name));
    else if (st?.isDirectory()) {
      await mkdir(path.join(dir, name));
      binds.push([host, path.join(dir, name), 'none', 'bind,ro']);
    }
  }
  return { dir, binds };
}

const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** fstab fields: libmount unescapes \\040 (space), \\011 (tab), \\012 (newline), \\134 (backslash). */
function fstabField(value: string): string {
  return value.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * The step's /dev, prepared on the host before the namespace exists: empty files for the device binds,
 * pts/ and shm/ mount points, the /proc/self/fd links. Bind-mounted over the rootfs's /dev, so whatever
 * the step writes in /dev lands in this scratch dir and is deleted with it.
 */
async function makeDevSkeleton(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  for (const d of DEV_NODES) await writeFile(path.join(dir, d), '', { mode: 0o666 });
  await mkdir(path.join(dir, 'pts'), { mode: 0o755 });
  await mkdir(path.join(dir, 'shm'));
  await chmod(path.join(dir, 'shm'), 0o1777);
  await chmod(dir, 0o755);
  await symlink('pts/ptmx', path.join(dir, 'ptmx'));
  await symlink('/proc/self/fd', path.join(dir, 'fd'));
  await symlink('/proc/self/fd/0', path.join(dir, 'stdin'));
  await symlink('/proc/self/fd/1', path.join(dir, 'stdout'));
  await symlink('/proc/self/fd/2', path.join(dir, 'stderr'));
}

/** Writes the inline files into the /dev skeleton's `pipes/` (returned, to be bound read-only), if any. */
async function writeInlineFiles(
  devSkel: string,
  files: readonly { path: string; content: string; mode: number }[],
): Promise<string | undefined> {
  if (files.length === 0) return undefined;
  const pipes = path.join(devSkel, 'pipes');
  await mkdir(pipes, { mode: 0o755 });
  await chmod(pipes, 0o755);
  for (const f of files) {
    const name = f.path.startsWith('/dev/pipes/') ? f.path.slice('/dev/pipes/'.length) : '';
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new DiagnosticError(
        error(
          'build/inline-file',
          `RUN: an inline file must be /dev/pipes/<name>, not ${JSON.stringify(f.path)}`,
        ),
      );
    }
    await writeFile(path.join(pipes, name), f.content, { mode: f.mode & 0o777, flag: 'wx' });
    await chmod(path.join(pipes, name), f.mode & 0o777);
  }
  return pipes;
}

/**
 * Runs one RUN command in `rootfs`: a chroot inside new pid, mount, uts and ipc namespaces (and net with
 * `network: 'none'`), with /proc, /sys (read-only), a minimal /dev, the host's resolv.conf and a generated
 * /etc/hosts bound read-only for the duration of the step. The command is pid 1 of its namespace; when it
 * exits, is aborted, or rootc dies, the namespace dies with every process and mount in it.
 *
 * Must be called as (namespace) root, normally inside the build namespace (`reexecInBuildNamespace`).
 * Throws a `DiagnosticError` if the sandbox cannot be set up or the step is aborted; a failing command is
 * not an error here: its exit status is in the result.
 */
export async function runStep(opts: RunStepOptions): Promise<RunStepResult> {
  const started = performance.now();
  if (opts.argv.length === 0 || opts.argv[0] === '') {
    throw new DiagnosticError(error('build/empty-command', 'RUN has an empty command'));
  }
  const rootStat = await stat(opts.rootfs).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new DiagnosticError(error('build/no-rootfs', `RUN: the rootfs ${opts.rootfs} is not a directory`));
  }
  opts.signal?.throwIfAborted();
  if (process.geteuid?.() !== 0) {
    throw new DiagnosticError(
      error(
        'build/run-needs-namespace',
        'RUN needs root: run it inside the build namespace (reexecInBuildNamespace), which maps the caller to root',
      ),
    );
  }
  const unshareBin = requireTool('unshare');
  const envBin = requireTool('env');
  const setprivBin = findHostTool('setpriv');
  const network = opts.network ?? 'default';
  const uid = opts.user?.uid ?? 0;
  const gid = opts.user?.gid ?? 0;
  const workdir = opts.workdir && opts.workdir !== '' ? opts.workdir : '/';
  const env = withDefaults(opts.env ?? [], opts.user?.home ?? (uid === 0 ? '/root' : '/'));
  const hostname = opts.hostname ?? DEFAULT_HOSTNAME;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(hostname)) {
    throw new DiagnosticError(error('build/invalid-hostname', `invalid hostname "${hostname}"`));
  }

  const stubs = new MountStubs(opts.rootfs);
  const scratch = await mkdtemp(path.join(opts.scratchDir ?? tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
  try {
    await ensureWorkdir(opts.rootfs, workdir, { uid, gid });
    const procDir = await stubs.dir('/proc');
    const sysDir = await stubs.dir('/sys');
    const devDir = await stubs.dir('/dev');
    const resolvSrc = '/etc/resolv.conf';
    const resolvTarget = (await hostFileExists(resolvSrc)) ? await stubs.file('/etc/resolv.conf') : undefined;
    const hostsSrc = path.join(scratch, 'hosts');
    await writeFile(
      hostsSrc,
      `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`,
    );
    const hostsTarget = await stubs.file('/etc/hosts');
    const devSkel = path.join(scratch, 'dev');
    const rootAbs = path.resolve(opts.rootfs);
    await makeDevSkeleton(devSkel);
    const pipes = await writeInlineFiles(devSkel, opts.inlineFiles ?? []);
    const pivotBin = findHostTool('pivot_root');
    const newRoot = pivotBin ? await makeRootSkeleton(path.join(scratch, 'newroot')) : undefined;
    // Where a path of the rootfs is mounted on: inside the new root when there is one.
    const at = (hostPath: string) =>
      newRoot ? path.join(newRoot.dir, 'rootfs', path.relative(rootAbs, hostPath)) : hostPath;

    // In a user namespace sysfs can only be mounted with a network namespace of our own: bind it instead.
    const sysLine =
      inUserNamespace() && network !== 'none'
        ? ['/sys', at(sysDir), 'none', 'rbind,ro']
        : ['sysfs', at(sysDir), 'sysfs', 'ro,nosuid,nodev,noexec'];
    const fstab = [
      ...(newRoot ? [[newRoot.dir, newRoot.dir, 'none', 'bind']] : []),
      // The rootfs itself nodev: a RUN may mknod (the node goes into the layer) but never open a host device.
      [rootAbs, at(rootAbs), 'none', 'bind,nodev'],
      ['proc', at(procDir), 'proc', 'nosuid,nodev,noexec'],
      sysLine,
      [devSkel, at(devDir), 'none', 'bind,nosuid'],
      ...(pipes ? [[pipes, at(path.join(devDir, 'pipes')), 'none', 'bind,ro,nosuid,nodev']] : []),
      ...DEV_NODES.map((d) => [`/dev/${d}`, at(path.join(devDir, d)), 'none', 'bind']),
      [
        'devpts',
        at(path.join(devDir, 'pts')),
        'devpts',
        'newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec,nofail',
      ],
      ['shm', at(path.join(devDir, 'shm')), 'tmpfs', 'nosuid,nodev,noexec,mode=1777,size=65536k'],
      ...(resolvTarget ? [[resolvSrc, at(resolvTarget), 'none', 'bind,ro']] : []),
      ...(hostsTarget ? [[hostsSrc, at(hostsTarget), 'none', 'bind,ro']] : []),
      ...(newRoot?.binds ?? []),
    ];
    const fstabPath = path.join(scratch, 'fstab');
    await writeFile(fstabPath, fstab.map((f) => `${f.map(fstabField).join(' ')} 0 0\n`).join(''));

    const nsArgs = [
      '--pid',
      '--fork',
      '--kill-child',
      '--mount',
      '--uts',
      '--ipc',
      '--propagation',
      'private',
    ];
    if (network === 'none') nsArgs.push('--net');
    const scriptArgs = [
      fstabPath,
      hostname,
      network === 'none' ? 'none' : 'host',
      network === 'none' ? (findHostTool('ip') ?? '') : '',
      rootAbs,
      workdir,
      String(uid),
      String(gid),
      unshareBin,
      envBin,
      setprivBin ?? '',
      (opts.user?.groups ?? []).join(','),
      BOUNDING_SET,
      newRoot?.dir ?? '',
      pivotBin ?? '',
      String(env.length),
      ...env,
      ...opts.argv,
    ];
    const command = [
      unshareBin,
      ...nsArgs,
      '--',
      '/bin/sh',
      '-c',
      SETUP_SCRIPT,
      'rootc-sandbox',
      ...scriptArgs,
    ];
    // If rootc dies (even SIGKILL), the kernel kills the outer unshare, whose --kill-child kills pid 1 of the step.
    const full = setprivBin ? [setprivBin, '--pdeathsig', 'KILL', '--', ...command] : command;
    const result = await spawnStep(full, opts);
    result.durationMs = performance.now() - started;
    return result;
  } finally {
    await stubs.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function spawnStep(command: string[], opts: RunStepOptions): Promise<RunStepResult> {
  const keep = opts.tailLines ?? 20;
  const tail: string[] = [];
  const setupErrors: string[] = [];
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
  });
  const push = (stream: 'stdout' | 'stderr', line: string) => {
    const clipped = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
    tail.push(clipped);
    if (tail.length > keep) tail.shift();
    opts.onOutput?.({ stream, line: clipped });
  };
  const out = lineSplitter((l) => push('stdout', l));
  const err = lineSplitter((l) => push('stderr', l));
  let started = false;
  const setup = lineSplitter((l) => {
    if (l === STARTED) started = true;
    else setupErrors.push(l);
  });
  child.stdout!.on('data', out.write);
  child.stderr!.on('data', err.write);
  (child.stdio[3] as NodeJS.ReadableStream).on('data', setup.write);

  let aborted = false;
  const onAbort = () => {
    aborted = true;
    child.kill('SIGKILL');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  opts.signal?.removeEventListener('abort', onAbort);
  out.end();
  err.end();
  setup.end();

  if (aborted) {
    throw new DiagnosticError(error('build/run-aborted', 'RUN was interrupted'));
  }
  if (!started) {
    // The namespaces could not be made (no privilege, seccomp…): unshare's own message is on stderr.
    throw new DiagnosticError(
      error(
        'build/sandbox-setup',
        `cannot start the RUN sandbox: ${tail.slice(-3).join('; ') || `exit ${code}`}`,
      ),
    );
  }
  if (setupErrors.length > 0) {
    throw new DiagnosticError(
      error('build/sandbox-setup', `cannot set up the RUN sandbox: ${setupErrors.join('; ')}`),
    );
  }
  if (sig !== null) {
    return { exitCode: 128 + signalNumber(sig), signal: sig, outputTail: tail, durationMs: 0 };
  }
  return { exitCode: code ?? 1, outputTail: tail, durationMs: 0 };
}

function lineSplitter(emit: (line: string) => void) {
  let pending = '';
  // A UTF-8 character split across two chunks must not turn into two replacement characters.
  const decoder = new StringDecoder('utf8');
  return {
    write: (chunk: Buffer | string) => {
      pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        emit(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
      // A line without a newline for a long time (a progress bar) is cut rather than buffered forever.
      if (pending.length > 64 * 1024) {
        emit(pending);
        pending = '';
      }
    },
    end: () => {
      pending += decoder.end();
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}

function withDefaults(env: string[], home: string): string[] {
  const out = [...env];
  if (!out.some((e) => e.startsWith('PATH='))) out.unshift(DEFAULT_PATH);
  if (!out.some((e) => e.startsWith('HOME='))) out.push(`HOME=${home}`);
  for (const e of out) {
    if (!e.includes('=') || e.startsWith('=')) {
      throw new DiagnosticError(
        error('build/invalid-env', `invalid environment entry "${e}" (expected K=V)`),
      );
    }
  }
  return out;
}

function requireTool(name: string): string {
  const found = findHostTool(name);
  if (!found) {
    throw new DiagnosticError(
      error(
        'build/missing-host-tool',
        `RUN needs "${name}" on the host (util-linux/coreutils) and it was not found`,
      ),
    );
  }
  return found;
}

async function hostFileExists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function signalNumber(sig: string): number {
  return (osConstants.signals as Record<string, number>)[sig] ?? 0;
}

/**
 * Removes scratch dirs of RUN steps whose rootc process is gone (killed with SIGKILL: the namespace and
 * its mounts went with it, the dir stayed). Never one with something still mounted below it.
 */
export async function sweepRunScratch(dir: string = tmpdir()): Promise<number> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const mountPoints = mountinfo.split('\n').map((l) => l.split(' ')[4] ?? '');
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(SCRATCH_PREFIX)) continue;
    const pid = Number(name.slice(SCRATCH_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    const full = path.join(dir, name);
    if (mountPoints.some((m) => m === full || m.startsWith(`${full}/`))) continue;
    try {
      await rm(full, { recursive: true, force: true });
      removed++;
    } catch {
      // Another user's leftover (e.g. a root build's, seen from a rootless one): not ours to remove.
    }
  }
  return removed;
}
