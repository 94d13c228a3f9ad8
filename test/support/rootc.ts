/**
 * Running the compiler as a user would: `node bin/rootc.js ARGS` from the repository's build
 * (`npm test` runs `npm run build` first; run it yourself before `npx vitest`).
 *
 *   runRootc(args, opts?) → { exitCode, stdout, stderr }   never throws on the exit code
 *   repoRoot              → absolute path of the repository
 *
 * Unless opts.env sets XDG_CACHE_HOME, each test file gets a cache of its own (one temp dir per
 * worker), so builds never touch the caller's ~/.cache/rootc and files do not see each other's.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunOptions, type RunResult, run } from './exec.js';
import { tempDirSync } from './tmp.js';

export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cacheHome: string | undefined;

export async function runRootc(
  args: readonly string[],
  opts: Omit<RunOptions, 'reject'> = {},
): Promise<RunResult> {
  const entry = join(repoRoot, 'bin', 'rootc.js');
  if (!existsSync(join(repoRoot, 'dist')))
    throw new Error('dist/ missing: run `npm run build` (npm test does)');
  cacheHome ??= tempDirSync('xdg-cache');
  return run(process.execPath, [entry, ...args], {
    ...opts,
    env: { XDG_CACHE_HOME: cacheHome, ...opts.env },
    timeout: opts.timeout ?? 300_000,
    reject: false,
  });
}
