/**
 * Registry credentials in Docker's format: `$DOCKER_CONFIG/config.json` (default `~/.docker`), the
 * `auths` map of registry → base64 `user:password`, so `docker login` and `rootc login` share them.
 * Credential helpers (`credsStore`) are not run; a registry only they know gives a clear 401 later.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { atomicWrite } from '../cache/store.js';

export interface Credentials {
  username: string;
  password: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  [key: string]: unknown;
}

export function dockerConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
}

function readConfig(file: string): DockerConfig {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DockerConfig;
  } catch {
    return {};
  }
}

/** Keys docker uses for a registry: the host, and for Docker Hub its historical index URL. */
function keysFor(registry: string): string[] {
  if (registry === 'docker.io')
    return ['https://index.docker.io/v1/', 'docker.io', 'index.docker.io', 'registry-1.docker.io'];
  return [registry, `https://${registry}`, `http://${registry}`];
}

export function lookupCredentials(registry: string, file = dockerConfigFile()): Credentials | undefined {
  const auths = readConfig(file).auths ?? {};
  for (const key of keysFor(registry)) {
    const entry = auths[key] ?? auths[`${key}/`];
    if (!entry) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}

export function storeCredentials(registry: string, creds: Credentials, file = dockerConfigFile()): void {
  const config = readConfig(file);
  const key = registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
  config.auths = {
    ...(config.auths ?? {}),
    [key]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') },
  };
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  atomicWrite(file, `${JSON.stringify(config, null, 2)}\n`, 0o600);
}
