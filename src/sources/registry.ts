/**
 * `FROM <registry ref>` (`name:tag`, `host:port/name:tag`, `name@sha256:…`): pulled over the OCI
 * distribution API into the blob store; layers kept as served, config inherited.
 */
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { RegistryClient, RegistryError } from '../registry/client.js';
import { lookupCredentials } from '../registry/credentials.js';
import { type Platform, pullImage } from '../registry/pull.js';
import { InvalidReferenceError, parseRegistryRef } from '../registry/reference.js';
import type { ResolvedSource, SourceContext } from './source.js';

export async function pullSource(
  ref: string,
  platform: Platform,
  ctx: SourceContext,
): Promise<ResolvedSource> {
  let client: RegistryClient | undefined;
  try {
    client = new RegistryClient(parseRegistryRef(ref), {
      credentials: (registry) => lookupCredentials(registry),
      ...ctx.registry,
    });
    const { image, digest } = await pullImage(client, ctx.store, platform);
    return { image, digest };
  } catch (err) {
    if (err instanceof RegistryError || err instanceof InvalidReferenceError) {
      throw new DiagnosticError(error('source/pull', `cannot pull ${ref}: ${err.message}`, ctx.location));
    }
    throw err;
  } finally {
    client?.close();
  }
}
