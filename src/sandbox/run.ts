import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import path from 'node:path';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { findHostTool } from './hosttools.js';
import { MountStubs } from './mountpoints.js';
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
  /** Ids inside the image (see `resolveUser`). */
  user?: { uid: number; gid: number; home?: string };
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
const MAX_LINE = 4096;
/** Exit status of the setup script when it fails before the command starts. */
const SETUP_FAILED = 125;

/*
 * Runs on the host side, as pid 1 of the step's new pid namespace, inside its new mount/uts/ipc(/net)
 * namespaces: mounts what the step needs, then execs `env -i … unshare --root … argv`. All values come in
 * as positional parameters, never spliced into the text. Setup errors go to fd 3 so they cannot be
 * confused with the command's output or exit status. When the namespace dies, every mount goes with it.
 */
const SETUP_SCRIPT = `
fail() { printf 'rootc-sandbox: %s\\n' "$*" >&3; exit ${SETUP_FAILED}; }
root=$1 procdir=$2 sysdir=$3 devdir=$4 resolv=$5 resolvsrc=$6 hosts=$7 hostssrc=$8 hn=$9
net=\${10} wd=\${11} uid=\${12} gid=\${13} unshare_bin=\${14} env_bin=\${15} ip_bin=\${16} nenv=\${17}
shift 17
if [ "$net" = none ] && [ -n "$ip_bin" ]; then "$ip_bin" link set lo up 2>&3 || fail "cannot bring lo up"; fi
printf '%s' "$hn" > /proc/sys/kernel/hostname || fail "cannot set the hostname"
mount -t proc -o nosuid,nodev,noexec proc "$procdir" 2>&3 || fail "cannot mount /proc"
if ! mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$sysdir" 2>/dev/null; then
  mount --rbind /sys "$sysdir" 2>&3 && mount -o remount,bind,ro "$sysdir" 2>&3 || fail "cannot mount /sys"
fi
mount -t tmpfs -o nosuid,strictatime,mode=755,size=65536k tmpfs "$devdir" 2>&3 || fail "cannot mount /dev"
for d in null zero full random urandom tty; do
  : > "$devdir/$d" && mount --bind "/dev/$d" "$devdir/$d" 2>&3 || fail "cannot bind /dev/$d"
done
mkdir -m 755 "$devdir/pts" && mkdir -m 1777 "$devdir/shm" || fail "cannot populate /dev"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$devdir/pts" 2>/dev/null &&
  ln -s pts/ptmx "$devdir/ptmx"
mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=65536k shm "$devdir/shm" 2>&3 || fail "cannot mount /dev/shm"
ln -s /proc/self/fd "$devdir/fd" && ln -s /proc/self/fd/0 "$devdir/stdin" &&
  ln -s /proc/self/fd/1 "$devdir/stdout" && ln -s /proc/self/fd/2 "$devdir/stderr" || fail "cannot populate /dev"
if [ -n "$resolv" ]; then
  mount --bind "$resolvsrc" "$resolv" 2>&3 && mount -o remount,bind,ro "$resolv" 2>&3 || fail "cannot bind resolv.conf"
fi
if [ -n "$hosts" ]; then
  mount --bind "$hostssrc" "$hosts" 2>&3 && mount -o remount,bind,ro "$hosts" 2>&3 || fail "cannot bind /etc/hosts"
fi
nargv=$(($# - nenv))
set -- "$@" "$env_bin" -i --
i=0; while [ $i -lt "$nenv" ]; do set -- "$@" "$1"; shift; i=$((i + 1)); done
set -- "$@" "$unshare_bin" "--root=$root" "--wd=$wd" --setgid "$gid" --setuid "$uid" --
i=0; while [ $i -lt "$nargv" ]; do set -- "$@" "$1"; shift; i=$((i + 1)); done
exec 3>&-
exec "$@"
`;

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
  if (opts.argv.length === 0)
    throw new DiagnosticError(error('build/empty-command', 'RUN has an empty command'));
  opts.signal?.throwIfAborted();
  const unshareBin = requireTool('unshare');
  const envBin = requireTool('env');
  const setprivBin = findHostTool('setpriv');
  const network = opts.network ?? 'default';
  const uid = opts.user?.uid ?? 0;
  const gid = opts.user?.gid ?? 0;
  const workdir = opts.workdir && opts.workdir !== '' ? opts.workdir : '/';
  const env = withDefaults(opts.env ?? [], opts.user?.home ?? (uid === 0 ? '/root' : '/'));
  const hostname = opts.hostname ?? DEFAULT_HOSTNAME;

  const stubs = new MountStubs(opts.rootfs);
  const scratch = await mkdtemp(path.join(tmpdir(), 'rootc-run-'));
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
      path.resolve(opts.rootfs),
      procDir,
      sysDir,
      devDir,
      resolvTarget ?? '',
      resolvSrc,
      hostsTarget ?? '',
      hostsSrc,
      hostname,
      network === 'none' ? 'none' : 'host',
      workdir,
      String(uid),
      String(gid),
      unshareBin,
      envBin,
      network === 'none' ? (findHostTool('ip') ?? '') : '',
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
  const setup = lineSplitter((l) => setupErrors.push(l));
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
  return {
    write: (chunk: Buffer | string) => {
      pending += chunk.toString();
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
