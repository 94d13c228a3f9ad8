/**
 * Registries on 127.0.0.1.
 *
 *   registryAddress()      → '127.0.0.1:PORT' of this run's shared registry (started on first use)
 *   startRegistry(opts?)   → { address, url, pid, dir, stop() }: a registry of the test's own, with
 *                            optional htpasswd auth or TLS (see services.ts RegistryOptions); stop
 *                            it yourself, or it dies with the worker
 *
 * The shared one is plain HTTP with no auth: give skopeo `--tls-verify=false` (or
 * `--dest-tls-verify=false`), and use a repository name unique to your test file (uniqueRef).
 */
import { ensureRegistry } from './services.js';

export { freePort, type RegistryOptions, type RunningRegistry, startRegistry } from './services.js';

export function registryAddress(): Promise<string> {
  return ensureRegistry();
}
