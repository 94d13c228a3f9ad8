/**
 * Which real tools this machine has, and `requireTools` to guard the tests that need them.
 *
 *   describe('OCI output', () => {
 *     if (!requireTools('docker', 'umoci', 'skopeo')) return;
 *     beforeAll(async () => { … });
 *     it('…', async () => { … });
 *   });
 *
 * `requireTools(...names)` is called while a describe (or a test file) is being collected:
 * - all present: returns true. For 'docker' and 'registry' it also registers a `beforeAll` that
 *   starts the shared dockerd / registry of this test run if nobody has yet (see services.ts).
 * - one missing, locally: prints `[rootc-test] SKIP <suite>: missing umoci (Debian package umoci;
 *   run bash scripts/setup.sh)`, registers one skipped test that says the same, returns false.
 * - one missing with CI set (CI=true): registers a test that fails with
 *   `required tool umoci is missing (CI=true)…`, returns false. CI installs everything with
 *   scripts/setup.sh, so a missing tool there is a broken setup, never a reason to skip.
 * Returning from the describe body when it gives false keeps the suite's own hooks from running.
 *
 * `toolPath(name)` is the absolute path of a binary tool (throws when missing); `hasTool(name)`
 * says whether it is there without registering anything.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { beforeAll, expect, it, TestRunner } from 'vitest';
import { ensureDocker, ensureRegistry, servicesContext } from './services.js';
import { ROOTLESS_USER, rootlessUser } from './users.js';

export type ToolName =
  | 'docker' // a running dockerd of this test run (or the one DOCKER_HOST names) and its client
  | 'registry' // a running distribution registry on 127.0.0.1 (or ROOTC_TEST_REGISTRY)
  | 'umoci'
  | 'skopeo'
  | 'actool' // built by scripts/setup.sh from golang-github-appc-spec-dev
  | 'debootstrap'
  | 'gpg'
  | 'gpgv'
  | 'busybox' // a static busybox at /bin/busybox (busybox-static)
  | 'setcap'
  | 'getcap'
  | 'getfattr'
  | 'setfattr'
  | 'newuidmap'
  | 'unshare'
  | 'tar' // GNU tar
  | 'xz'
  | 'zstd'
  | 'bzip2'
  | 'htpasswd'
  | 'openssl'
  | 'root' // the tests run as uid 0
  | 'rootless-user'; // the user rootc-test with subuid/subgid ranges (scripts/setup.sh), and newuidmap

interface ToolInfo {
  /** Debian package that provides it, for the message. */
  pkg: string;
  /** Binary names to look for, in order; or a custom check returning a path or a reason. */
  bins?: string[];
  check?: () => { path?: string; missing?: string };
}

export const isCI: boolean = (() => {
  const v = (process.env.CI ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
})();

/** Where scripts/setup.sh puts the tools it builds (actool). */
export function toolsDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.ROOTC_TOOLS_DIR) dirs.push(join(process.env.ROOTC_TOOLS_DIR, 'bin'));
  dirs.push('/var/cache/rootc-test/bin');
  dirs.push(join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rootc-test', 'bin'));
  return dirs;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Looks a binary up in PATH plus the sbin directories (dockerd, setcap live there) and the tools dirs. */
export function findBinary(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [
    ...extraDirs,
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
    ...toolsDirs(),
  ];
  for (const d of dirs) {
    const p = join(d, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function bin(pkg: string, ...bins: string[]): ToolInfo {
  return { pkg, bins };
}

const TOOLS: Record<ToolName, ToolInfo> = {
  docker: {
    pkg: 'docker.io',
    check: () => {
      const client = dockerClientPath();
      if (!client) return { missing: 'the docker client' };
      const ctx = servicesContext();
      if (ctx.externalDockerHost) return { path: client };
      if (!findBinary('dockerd')) return { missing: 'dockerd' };
      if (process.getuid?.() !== 0) return { missing: 'root (to start dockerd; or set DOCKER_HOST)' };
      return { path: client };
    },
  },
  registry: {
    pkg: 'docker-registry',
    check: () => {
      const ctx = servicesContext();
      if (ctx.externalRegistry) return { path: ctx.externalRegistry };
      const p = findBinary('docker-registry');
      return p ? { path: p } : { missing: 'docker-registry' };
    },
  },
  umoci: bin('umoci', 'umoci'),
  skopeo: bin('skopeo', 'skopeo'),
  actool: {
    pkg: 'golang-github-appc-spec-dev + golang-go, built by scripts/setup.sh',
    check: () => {
      const env = process.env.ROOTC_ACTOOL;
      if (env) return isExecutable(env) ? { path: env } : { missing: `ROOTC_ACTOOL=${env}` };
      const p = findBinary('actool');
      return p ? { path: p } : { missing: 'actool' };
    },
  },
  debootstrap: bin('debootstrap', 'debootstrap'),
  gpg: bin('gnupg', 'gpg'),
  gpgv: bin('gpgv', 'gpgv'),
  busybox: {
    pkg: 'busybox-static',
    check: () => (isExecutable('/bin/busybox') ? { path: '/bin/busybox' } : { missing: '/bin/busybox' }),
  },
  setcap: bin('libcap2-bin', 'setcap'),
  getcap: bin('libcap2-bin', 'getcap'),
  getfattr: bin('attr', 'getfattr'),
  setfattr: bin('attr', 'setfattr'),
  newuidmap: bin('uidmap', 'newuidmap'),
  unshare: bin('util-linux', 'unshare'),
  tar: bin('tar', 'tar'),
  xz: bin('xz-utils', 'xz'),
  zstd: bin('zstd', 'zstd'),
  bzip2: bin('bzip2', 'bzip2'),
  htpasswd: bin('apache2-utils', 'htpasswd'),
  openssl: bin('openssl', 'openssl'),
  'rootless-user': {
    pkg: 'uidmap (user rootc-test made by scripts/setup.sh)',
    check: () => {
      if (!rootlessUser())
        return { missing: `user ${ROOTLESS_USER} with /etc/subuid and /etc/subgid ranges` };
      const p = findBinary('newuidmap');
      return p ? { path: p } : { missing: 'newuidmap' };
    },
  },
  root: {
    pkg: '(run the tests as root)',
    check: () => (process.getuid?.() === 0 ? { path: '/' } : { missing: 'root' }),
  },
};

/**
 * The docker client: Debian's /usr/bin/docker (the same version as its dockerd) before whatever
 * else PATH has (some machines carry a newer client in /usr/local/bin).
 */
export function dockerClientPath(): string | undefined {
  return isExecutable('/usr/bin/docker') ? '/usr/bin/docker' : findBinary('docker');
}

const cache = new Map<ToolName, { path?: string; missing?: string }>();

function probe(name: ToolName): { path?: string; missing?: string } {
  let r = cache.get(name);
  if (!r) {
    const info = TOOLS[name];
    if (!info) throw new Error(`requireTools: unknown tool "${name}"`);
    if (info.check) r = info.check();
    else {
      const path = info.bins?.map((b) => findBinary(b)).find((p) => p !== undefined);
      r = path ? { path } : { missing: info.bins?.[0] ?? name };
    }
    cache.set(name, r);
  }
  return r;
}

export function hasTool(name: ToolName): boolean {
  return probe(name).path !== undefined;
}

/** Absolute path of a tool's binary; throws with the package to install when it is missing. */
export function toolPath(name: ToolName): string {
  const r = probe(name);
  if (r.path === undefined) throw new Error(missingMessage(name));
  return r.path;
}

function missingMessage(name: ToolName): string {
  const r = probe(name);
  const what = r.missing && r.missing !== name ? ` (${r.missing})` : '';
  return `required tool ${name}${what} is missing: Debian package ${TOOLS[name].pkg}; run bash scripts/setup.sh`;
}

export function requireTools(...names: ToolName[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) {
    // Started lazily, once per test run, by whichever suite needs them first.
    if (names.includes('docker')) beforeAllStart('docker');
    if (names.includes('registry')) beforeAllStart('registry');
    return true;
  }
  const messages = missing.map(missingMessage);
  if (isCI) {
    it(`required tools are present: ${names.join(', ')}`, () => {
      throw new Error(messages.map((m) => m.replace(' is missing', ' is missing (CI=true)')).join('\n'));
    });
  } else {
    const where = suiteName();
    process.stdout.write(`[rootc-test] SKIP ${where}: ${messages.join('; ')}\n`);
    it.skip(`needs ${missing.join(', ')} (missing here; CI fails instead of skipping)`, () => {});
  }
  return false;
}

function beforeAllStart(which: 'docker' | 'registry'): void {
  beforeAll(async () => {
    if (which === 'docker') await ensureDocker();
    else await ensureRegistry();
  }, 180_000);
}

/** "test/x.test.ts > describe name", for the skip line. */
function suiteName(): string {
  const file = (expect.getState().testPath ?? 'test file').replace(`${process.cwd()}/`, '');
  const name = TestRunner.getCurrentSuite()?.name;
  return name ? `${file} > ${name}` : file;
}
