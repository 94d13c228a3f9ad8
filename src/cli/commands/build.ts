/** `rootc build`: options only; the work is in build-action.ts, imported when a build runs. */
import { type Command, Option } from 'commander';
import type { ProgressMode } from '../../build/progress.js';
import { collectBuildArg } from './check.js';

export interface BuildFlags {
  file?: string;
  tag: string[];
  buildArg: Record<string, string>;
  target?: string;
  output: string[];
  cache: boolean;
  progress: ProgressMode;
  cacheDir?: string;
  push?: boolean;
  registryCa: string[];
  insecureRegistry: string[];
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('Build an image from a Rootfile, step by step in a chroot, cached and reproducible')
    .argument('[context]', 'the build context directory', '.')
    .option('-f, --file <path>', 'the Rootfile (default: <context>/Rootfile, then <context>/Dockerfile)')
    .option('-t, --tag <name:tag>', 'name and tag of the image (repeatable)', collect, [])
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collectBuildArg, {})
    .option('--target <stage>', 'build this stage (default: the last one)')
    .option(
      '-o, --output <spec>',
      'type=rootfs|docker|oci|oci-archive|aci,dest=<path>[,compression=…] (repeatable)',
      collect,
      [],
    )
    .option('--no-cache', 'run every step, ignoring the cache')
    .addOption(
      new Option('--progress <mode>', 'progress output')
        .choices(['auto', 'plain', 'tty', 'json', 'quiet'])
        .default('auto'),
    )
    .option('--cache-dir <dir>', 'cache directory (default: $XDG_CACHE_HOME/rootc)')
    .option('--push', 'push the image to the registry named by each -t (type=registry outputs)')
    .option('--registry-ca <file>', 'trust this PEM CA for registries too (repeatable)', collect, [])
    .option(
      '--insecure-registry <host>',
      'allow plain HTTP to this registry (loopback ones are allowed)',
      collect,
      [],
    )
    .action(async (contextArg: string, flags: BuildFlags) => {
      // The build engine is loaded only when a build runs, so check/parse/fmt start fast.
      const { runBuild } = await import('./build-action.js');
      await runBuild(contextArg, flags);
    });
}
