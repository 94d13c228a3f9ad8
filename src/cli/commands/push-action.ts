/** The work of `rootc push` and `rootc login` (registries, Docker's credentials file). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadTaggedImage } from '../../build/build.js';
import { createReporter } from '../../build/progress.js';
import { defaultCacheDir } from '../../cache/store.js';
import { DiagnosticError, error } from '../../diagnostics/diagnostic.js';
import { BlobStore } from '../../image/blobstore.js';
import { RegistryClient, RegistryError } from '../../registry/client.js';
import { dockerConfigFile, storeCredentials } from '../../registry/credentials.js';
import { parseRegistryRef } from '../../registry/reference.js';
import { pushTo } from '../../writers/registry.js';
import { UsageError } from '../output.js';
import { registryOptions } from './build-action.js';

export interface PushFlags {
  cacheDir?: string;
  registryCa: string[];
  insecureRegistry: string[];
  progress: 'auto' | 'plain' | 'json' | 'quiet';
}

export interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  registryCa: string[];
  insecureRegistry: string[];
}

export async function pushCommand(
  name: string,
  destination: string | undefined,
  flags: PushFlags,
): Promise<void> {
  const cacheDir = flags.cacheDir ? path.resolve(flags.cacheDir) : defaultCacheDir();
  const image = loadTaggedImage(cacheDir, name);
  if (!image) {
    throw new DiagnosticError(
      error(
        'push/unknown-image',
        `no image named ${name} was built here (build it with rootc build -t ${name})`,
      ),
    );
  }
  const progress = createReporter(flags.progress);
  const result = await pushTo(new BlobStore(cacheDir), image, destination ?? name, {
    epoch: 0,
    registry: registryOptions(flags),
    onBlob: (e) => progress.emit({ type: 'push-blob', ...e }),
  });
  progress.emit({
    type: 'output',
    output: 'registry',
    dest: destination ?? name,
    digest: result.digest,
    durationMs: 0,
  });
  process.stdout.write(`${result.digest}\n`);
}

export async function loginCommand(registry: string, flags: LoginFlags): Promise<void> {
  if (!flags.username) throw new UsageError('login needs --username');
  const password = flags.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : flags.password;
  if (!password) throw new UsageError('login needs --password-stdin or --password');
  const creds = { username: flags.username, password };
  const client = new RegistryClient(parseRegistryRef(`${registry}/rootc-login-check`), {
    ...registryOptions(flags),
    credentials: () => creds,
    attempts: 2,
  });
  try {
    const res = await client.request('GET', '/v2/', { expect: [200] });
    res.resume();
  } catch (err) {
    if (err instanceof RegistryError) {
      throw new DiagnosticError(error('login/failed', `login to ${registry} failed: ${err.message}`));
    }
    throw err;
  } finally {
    client.close();
  }
  storeCredentials(parseRegistryRef(`${registry}/x`).registry, creds);
  process.stderr.write(`Login succeeded; credentials stored in ${dockerConfigFile()}\n`);
}
