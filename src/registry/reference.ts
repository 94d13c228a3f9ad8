/**
 * An image reference split for the distribution API: `127.0.0.1:5000/app:1.0` → registry
 * `127.0.0.1:5000`, repository `app`, tag `1.0`. Docker Hub names go to `registry-1.docker.io` with the
 * `library/` prefix, as docker does (distribution/reference's ParseNormalizedNamed).
 */
import { normalizeImageRef } from '../lower/reference.js';

export interface RegistryRef {
  /** Host[:port] as written (docker.io for Hub). */
  registry: string;
  /** Host[:port] the API is served from. */
  apiHost: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** Normalized full reference, for messages. */
  full: string;
}

export class InvalidReferenceError extends Error {}

export function parseRegistryRef(text: string): RegistryRef {
  const checked = normalizeImageRef(text);
  if (!checked.ok) throw new InvalidReferenceError(checked.message);
  const full = checked.value;
  let rest = full;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const first = rest.indexOf('/');
  const registry = rest.slice(0, first);
  const repository = rest.slice(first + 1);
  return {
    registry,
    apiHost: registry === 'docker.io' ? 'registry-1.docker.io' : registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    full,
  };
}

/** What a manifest is addressed by: the digest when pinned, else the tag (latest by default). */
export function manifestReference(ref: RegistryRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Hosts spoken to over plain HTTP when HTTPS fails: loopback by default (as docker's insecure defaults). */
export function isLoopbackRegistry(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}
