/**
 * Docker helpers, against this run's dockerd (started on first use; see services.ts).
 *
 *   docker(args, opts?)               → RunResult        any docker command (throws on non-zero unless reject:false)
 *   dockerLoad(archive)               → { id, tags }     `docker load -i`
 *   dockerImport(tar, ref, {changes}) → image id         `docker import` of a rootfs tar
 *   dockerRun(image, cmd?, opts?)     → RunResult        `docker run --rm --network=none`; never throws on exit code
 *   dockerInspect(image)              → DockerImage      `docker image inspect`, parsed
 *   dockerEnv()                       → { DOCKER_HOST, DOCKER_CONFIG } for your own subprocesses
 *   uniqueRef(name)                   → 'rootc-test/NAME-<pid>-<n>:latest', a tag no other test file uses
 *
 * Containers have no network at all (dockerd runs with --bridge=none), hence --network=none.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type RunOptions, type RunResult, run } from './exec.js';
import { ensureDocker, servicesContext } from './services.js';
import { dockerClientPath } from './tools.js';

export async function dockerEnv(): Promise<{ DOCKER_HOST: string; DOCKER_CONFIG: string }> {
  const host = await ensureDocker();
  // A client config of our own: never read or write the caller's ~/.docker/config.json.
  const config = join(servicesContext().stateDir, 'docker-client');
  mkdirSync(config, { recursive: true });
  return { DOCKER_HOST: host, DOCKER_CONFIG: config };
}

export async function docker(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const client = dockerClientPath();
  if (!client) throw new Error('docker client missing: Debian package docker.io; run bash scripts/setup.sh');
  return run(client, args, { ...opts, env: { ...(await dockerEnv()), ...opts.env } });
}

let refCount = 0;
export function uniqueRef(name = 'img'): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  return `rootc-test/${clean}-${process.pid}-${++refCount}:latest`;
}

/** `docker load -i ARCHIVE`; the image's id and the tags it was loaded under. */
export async function dockerLoad(archivePath: string): Promise<{ id: string; tags: string[] }> {
  const r = await docker(['load', '-i', archivePath]);
  const tags: string[] = [];
  let id: string | undefined;
  for (const line of r.stdout.split('\n')) {
    const tag = /^Loaded image: (.+)$/.exec(line.trim());
    if (tag) tags.push(tag[1]);
    const idm = /^Loaded image ID: (sha256:[0-9a-f]{64})$/.exec(line.trim());
    if (idm) id = idm[1];
  }
  if (!id && tags.length > 0)
    id = (await docker(['image', 'inspect', '--format', '{{.Id}}', tags[0]])).stdout.trim();
  if (!id) throw new Error(`docker load printed no image:\n${r.stdout}${r.stderr}`);
  return { id, tags };
}

/** `docker import TAR REF` (a rootfs tar, as rootc's type=rootfs writes); returns the image id. */
export async function dockerImport(
  tarPath: string,
  ref: string,
  opts: { changes?: string[] } = {},
): Promise<string> {
  const changes = (opts.changes ?? []).flatMap((c) => ['--change', c]);
  const r = await docker(['import', ...changes, tarPath, ref]);
  return r.stdout.trim();
}

export interface DockerRunOptions extends Omit<RunOptions, 'reject'> {
  /** Extra `docker run` flags, placed before the image (e.g. ['--user', '1000', '--entrypoint', '']). */
  args?: string[];
  /** Throw on a non-zero exit (default false: tests check exitCode themselves). */
  reject?: boolean;
}

/** `docker run --rm --network=none [args] IMAGE [cmd…]`; resolves to the container's exit code and output. */
export async function dockerRun(
  image: string,
  cmd: readonly string[] = [],
  opts: DockerRunOptions = {},
): Promise<RunResult> {
  const interactive = opts.input !== undefined ? ['-i'] : [];
  return docker(['run', '--rm', '--network=none', ...interactive, ...(opts.args ?? []), image, ...cmd], {
    ...opts,
    reject: opts.reject ?? false,
  });
}

/** The parts of `docker image inspect` the tests look at (the rest is there too, untyped). */
export interface DockerImage {
  Id: string;
  RepoTags: string[] | null;
  Architecture: string;
  Os: string;
  Size: number;
  Config: {
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number } | null;
    OnBuild?: string[] | null;
    Shell?: string[] | null;
  };
  RootFS: { Type: string; Layers: string[] };
  [key: string]: unknown;
}

export async function dockerInspect(image: string): Promise<DockerImage> {
  const r = await docker(['image', 'inspect', image]);
  const parsed = JSON.parse(r.stdout) as DockerImage[];
  if (parsed.length !== 1) throw new Error(`docker image inspect ${image}: ${parsed.length} results`);
  return parsed[0];
}
