/**
 * The servers the end-to-end tests talk to: one dockerd and one distribution registry per test
 * run, started lazily by the first test file that needs them and stopped by the global teardown.
 *
 * How it fits together:
 * - global-setup.ts (main vitest process) makes a state directory and provides it to every test
 *   worker as `inject('rootcTest')`. If DOCKER_HOST / ROOTC_TEST_REGISTRY already point at running
 *   servers, those are used and nothing is started.
 * - `ensureDocker()` / `ensureRegistry()` (in a worker) start the server exactly once per run:
 *   the first caller wins an exclusive `mkdir` of `<state>/docker` (or `registry`), starts the
 *   server detached (so it outlives that worker) and writes `ready.json`; every other caller,
 *   in any worker, waits for that file.
 * - `stopServices()` (global teardown) kills each server by the pid it recorded, waits for it,
 *   kills any process still holding the state dir, unmounts what dockerd left, removes the dir.
 *
 * `startRegistry(opts)` also serves tests that need a registry of their own (htpasswd auth, TLS,
 * one to stop in the middle of a push): it returns `{ address, stop }`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { inject } from 'vitest';

export interface ServicesContext {
  /** Directory for this test run's servers and temp dirs; removed at teardown. */
  stateDir: string;
  /** DOCKER_HOST of an already running dockerd to use instead of starting one. */
  externalDockerHost?: string;
  /** host:port of an already running registry to use instead of starting one. */
  externalRegistry?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rootcTest: ServicesContext;
  }
}

const SBIN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function servicesContext(): ServicesContext {
  let ctx: ServicesContext | undefined;
  try {
    ctx = inject('rootcTest');
  } catch {
    // inject() only works inside a vitest worker; fall back to the environment below.
  }
  if (!ctx && process.env.ROOTC_TEST_STATE_DIR) ctx = { stateDir: process.env.ROOTC_TEST_STATE_DIR };
  if (!ctx)
    throw new Error(
      'test services are not set up: run the tests through vitest (vitest.config.ts globalSetup)',
    );
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// once per run, across workers

interface Ready<T> {
  ok: boolean;
  value?: T;
  error?: string;
}

async function oncePerRun<T>(dir: string, what: string, start: (dir: string) => Promise<T>): Promise<T> {
  let winner = false;
  try {
    mkdirSync(dir);
    winner = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const readyFile = join(dir, 'ready.json');
  if (winner) {
    let ready: Ready<T>;
    try {
      ready = { ok: true, value: await start(dir) };
    } catch (e) {
      ready = { ok: false, error: (e as Error).message };
    }
    writeFileSync(`${readyFile}.tmp`, JSON.stringify(ready));
    renameSync(`${readyFile}.tmp`, readyFile);
    if (!ready.ok) throw new Error(`${what} did not start: ${ready.error}`);
    return ready.value as T;
  }
  const deadline = Date.now() + 180_000;
  while (!existsSync(readyFile)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} started by another test file`);
    await sleep(100);
  }
  const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as Ready<T>;
  if (!ready.ok) throw new Error(`${what} did not start (in another test file): ${ready.error}`);
  return ready.value as T;
}

let dockerPromise: Promise<string> | undefined;
let registryPromise: Promise<string> | undefined;

/** Starts this run's dockerd if nobody has yet; resolves to its DOCKER_HOST (unix://…). */
export function ensureDocker(): Promise<string> {
  dockerPromise ??= (async () => {
    const ctx = servicesContext();
    if (ctx.externalDockerHost) return ctx.externalDockerHost;
    return oncePerRun(join(ctx.stateDir, 'docker'), 'dockerd', startDockerd);
  })();
  return dockerPromise;
}

/** Starts this run's registry if nobody has yet; resolves to its address, `127.0.0.1:PORT`. */
export function ensureRegistry(): Promise<string> {
  registryPromise ??= (async () => {
    const ctx = servicesContext();
    if (ctx.externalRegistry) return ctx.externalRegistry;
    return oncePerRun(join(ctx.stateDir, 'registry'), 'docker-registry', async (dir) => {
      const r = await startRegistry({ dir, detached: true });
      return r.address;
    });
  })();
  return registryPromise;
}

// ---------------------------------------------------------------------------------------------
// dockerd

function spawnLogged(cmd: string, args: string[], dir: string, log: string, detached: boolean): ChildProcess {
  const fd = openSync(join(dir, log), 'a');
  try {
    const child = spawn(cmd, args, {
      detached,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:${SBIN_PATH}` },
    });
    if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
    writeFileSync(join(dir, 'pid'), `${child.pid}\n`);
    if (detached) child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** GET over a unix socket or TCP; resolves to the status code, or undefined when nobody answers. */
function httpStatus(opts: http.RequestOptions & { tls?: boolean }): Promise<number | undefined> {
  return new Promise((resolve) => {
    const mod = opts.tls ? https : http;
    const req = mod.request({ method: 'GET', timeout: 2000, rejectUnauthorized: false, ...opts }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.end();
  });
}

/** Whether a dockerd answers at DOCKER_HOST (unix sockets only, the kind this project starts). */
export async function dockerAnswers(host: string): Promise<boolean> {
  if (!host.startsWith('unix://')) return false;
  return (await httpStatus({ socketPath: host.slice('unix://'.length), path: '/_ping' })) === 200;
}

async function startDockerd(dir: string): Promise<string> {
  const t0 = Date.now();
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  // As ENVIRONMENT.md: no init system, no iptables, no bridge (containers get --network=none).
  const args = [
    '--storage-driver=overlay2',
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--log-level=warn',
    `--host=${host}`,
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'dockerd.pid')}`,
  ];
  const child = spawnLogged('dockerd', args, dir, 'dockerd.log', true);
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  child.on('error', (e) => {
    exited = e.message;
  });
  const deadline = Date.now() + 60_000;
  while (!(await dockerAnswers(host))) {
    if (exited) throw new Error(`dockerd ${exited}:\n${logTail(join(dir, 'dockerd.log'))}`);
    if (Date.now() > deadline)
      throw new Error(`dockerd did not answer in 60 s:\n${logTail(join(dir, 'dockerd.log'))}`);
    await sleep(50);
  }
  process.stdout.write(`[rootc-test] dockerd ready at ${host} in ${Date.now() - t0} ms\n`);
  return host;
}

// ---------------------------------------------------------------------------------------------
// registry

export interface RegistryOptions {
  /** Directory for its config, storage and log (default: a new one in the state dir). */
  dir?: string;
  /** htpasswd file (bcrypt entries, `htpasswd -Bbn user pass`) to require basic auth. */
  htpasswd?: string;
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { certificate: string; key: string };
  /** Keep running after this worker exits (the shared registry); default false. */
  detached?: boolean;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT` */
  address: string;
  /** `http://127.0.0.1:PORT` or `https://…` */
  url: string;
  pid: number;
  dir: string;
  /** Kills it and waits for it to exit. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

let registryCount = 0;
const ownChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of ownChildren) c.kill('SIGKILL');
});

/** Starts a docker-registry (distribution 2.8) on 127.0.0.1 at a free port. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = opts.dir ?? join(servicesContext().stateDir, `registry-${process.pid}-${++registryCount}`);
  mkdirSync(dir, { recursive: true });
  const scheme = opts.tls ? 'https' : 'http';
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const config = [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(join(dir, 'data'))}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: ${address}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      ...(opts.tls
        ? [
            '  tls:',
            `    certificate: ${JSON.stringify(opts.tls.certificate)}`,
            `    key: ${JSON.stringify(opts.tls.key)}`,
          ]
        : []),
      ...(opts.htpasswd
        ? ['auth:', '  htpasswd:', '    realm: rootc-test', `    path: ${JSON.stringify(opts.htpasswd)}`]
        : []),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'config.yml'), config);
    const child = spawnLogged(
      'docker-registry',
      ['serve', join(dir, 'config.yml')],
      dir,
      'registry.log',
      opts.detached ?? false,
    );
    if (!opts.detached) ownChildren.add(child);
    let exited: string | undefined;
    child.on('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      ownChildren.delete(child);
    });
    child.on('error', (e) => {
      exited = e.message;
    });
    const deadline = Date.now() + 30_000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      const status = await httpStatus({ host: '127.0.0.1', port, path: '/v2/', tls: Boolean(opts.tls) });
      // 401 is an answer too when auth is on.
      if (status === 200 || (status === 401 && opts.htpasswd)) {
        up = true;
        break;
      }
      await sleep(50);
    }
    if (up) {
      const pid = child.pid as number;
      return {
        address,
        url: `${scheme}://${address}`,
        pid,
        dir,
        stop: async () => {
          if (exited) return;
          child.kill('SIGTERM');
          await waitExit(pid, 10_000);
        },
      };
    }
    lastError = `${exited ?? 'did not answer in 30 s'}:\n${logTail(join(dir, 'registry.log'))}`;
    if (!exited) {
      child.kill('SIGKILL');
      await waitExit(child.pid as number, 5000);
    }
    if (!/address already in use/.test(lastError)) break;
  }
  throw new Error(`docker-registry ${lastError}`);
}

// ---------------------------------------------------------------------------------------------
// teardown

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function alive(pid: number): boolean {
  try {
    // A zombie (exited, not yet reaped: its parent worker is gone) counts as dead.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Processes whose command line names the state dir (containerd and shims left by a killed dockerd). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids.filter(alive);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '?';
  }
}

function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const mp = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (mp === dir || mp.startsWith(`${dir}/`)) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Global teardown: stop every server started under stateDir, unmount, remove the dir. */
export async function stopServices(
  stateDir: string,
  log: (line: string, unusual: boolean) => void = () => {},
): Promise<void> {
  const dirs = existsSync(stateDir) ? readdirSync(stateDir) : [];
  // Registries first (quick), dockerd last (it stops its containers and containerd).
  const order = dirs.filter((d) => d !== 'docker').concat(dirs.includes('docker') ? ['docker'] : []);
  for (const d of order) {
    const pidFile = join(stateDir, d, 'pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!pid || !alive(pid)) continue;
    const t0 = Date.now();
    kill(pid, 'SIGTERM');
    if (await waitExit(pid, 20_000)) {
      log(`${d} (pid ${pid}) stopped in ${Date.now() - t0} ms`, false);
    } else {
      kill(pid, 'SIGKILL');
      await waitExit(pid, 5000);
      log(`${d} (pid ${pid}) did not stop on SIGTERM in 20 s: killed`, true);
    }
  }
  const leftovers = processesUsing(stateDir);
  // Named with their command lines, so a log says which test or service left them.
  const named = leftovers.map((pid) => `${pid} (${commandLine(pid).slice(0, 160)})`);
  for (const pid of leftovers) kill(pid, 'SIGKILL');
  for (const pid of leftovers) await waitExit(pid, 5000);
  if (leftovers.length) log(`killed leftover processes ${named.join(', ')}`, true);
  const mounts = mountsUnder(stateDir);
  for (const mp of mounts) {
    const r = await execa('umount', [mp], { reject: false });
    if (r.exitCode !== 0) await execa('umount', ['-l', mp], { reject: false });
  }
  if (mounts.length)
    log(`unmounted ${mounts.length} leftover mount(s): ${mounts.slice(0, 5).join(' ')}`, true);
  if (mountsUnder(stateDir).length === 0) await rm(stateDir, { recursive: true, force: true, maxRetries: 3 });
  else log(`not removing ${stateDir}: still mounted`, true);
}
