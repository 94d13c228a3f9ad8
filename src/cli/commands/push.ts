/** `rootc push NAME[:TAG] [DEST]` and `rootc login REGISTRY`: registries, with Docker's credentials file. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
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
import { registryOptions } from './build.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerPush(program: Command): void {
  program
    .command('push')
    .description(
      'Push an image built with `rootc build -t NAME` to a registry (blobs it has are not sent again)',
    )
    .argument('<name>', 'the -t name the image was built with')
    .argument('[destination]', 'push under this reference instead (default: the name)')
    .option('--cache-dir <dir>', 'cache directory (default: $XDG_CACHE_HOME/rootc)')
    .option('--registry-ca <file>', 'trust this PEM CA for the registry (repeatable)', collect, [])
    .option('--insecure-registry <host>', 'allow plain HTTP to this registry', collect, [])
    .option('--progress <mode>', 'auto, plain, json or quiet', 'auto')
    .action(
      async (
        name: string,
        destination: string | undefined,
        flags: {
          cacheDir?: string;
          registryCa: string[];
          insecureRegistry: string[];
          progress: 'auto' | 'plain' | 'json' | 'quiet';
        },
      ) => {
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
      },
    );

  program
    .command('login')
    .description("Check credentials against a registry and store them in Docker's config.json")
    .argument('<registry>', 'host[:port]')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--registry-ca <file>', 'trust this PEM CA for the registry (repeatable)', collect, [])
    .option('--insecure-registry <host>', 'allow plain HTTP to this registry', collect, [])
    .action(
      async (
        registry: string,
        flags: {
          username?: string;
          password?: string;
          passwordStdin?: boolean;
          registryCa: string[];
          insecureRegistry: string[];
        },
      ) => {
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
      },
    );
}
