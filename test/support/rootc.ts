/**
 * Running the compiler as a user would: `node bin/rootc.js ARGS` from the repository's build
 * (`npm test` runs `npm run build` first; run it yourself before `npx vitest`).
 *
 *   runRootc(args, opts?) → { exitCode, stdout, stderr }   never throws on the exit code
 *   repoRoot              → absolute path of the repository
 *
 * Unless opts.env sets XDG_CACHE_HOME, each test file gets a cache of its own (one temp dir per
 * worker and user), so builds never touch the caller's ~/.cache/rootc and files do not see each
 * other's. `asUser: rootlessUser()` runs it as that unprivileged user (through runuser; needs root),
 * with a cache owned by that user; the paths it reads and writes must be accessible to it
 * (`tempDir(prefix, { owner: user })`).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunOptions, type RunResult, run } from './exec.js';
import { tempDirSync } from './tmp.js';
import { runAs, type TestUser } from './users.js';

export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RootcOptions extends Omit<RunOptions, 'reject'> {
  /** Run as this unprivileged user instead of the test's own (root) user. */
  asUser?: TestUser;
}

const cacheHomes = new Map<string, string>();

export async function runRootc(args: readonly string[], opts: RootcOptions = {}): Promise<RunResult> {
  const entry = join(repoRoot, 'bin', 'rootc.js');
  if (!existsSync(join(repoRoot, 'dist')))
    throw new Error('dist/ missing: run `npm run build` (npm test does)');
  const { asUser, ...runOpts } = opts;
  const who = asUser?.name ?? '';
  let cacheHome = cacheHomes.get(who);
  if (!cacheHome) {
    cacheHome = tempDirSync('xdg-cache', asUser ? { owner: asUser } : {});
    cacheHomes.set(who, cacheHome);
  }
  const finalOpts: RunOptions = {
    ...runOpts,
    env: { XDG_CACHE_HOME: cacheHome, ...runOpts.env },
    timeout: runOpts.timeout ?? 300_000,
    reject: false,
  };
  if (asUser) return runAs(asUser, process.execPath, [entry, ...args], finalOpts);
  return run(process.execPath, [entry, ...args], finalOpts);
}
