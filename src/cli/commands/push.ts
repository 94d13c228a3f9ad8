/** `rootc push NAME[:TAG] [DEST]` and `rootc login REGISTRY`: options here, the work in push-action.ts. */
import type { Command } from 'commander';
import type { LoginFlags } from './push-action.js';

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
        const { pushCommand } = await import('./push-action.js');
        await pushCommand(name, destination, flags);
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
    .action(async (registry: string, flags: LoginFlags) => {
      const { loginCommand } = await import('./push-action.js');
      await loginCommand(registry, flags);
    });
}
