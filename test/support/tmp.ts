/**
 * `tempDir(prefix?)`: a fresh directory, removed automatically.
 * - called inside a test: removed when that test finishes;
 * - called elsewhere (beforeAll, collection): removed when the test file's worker exits.
 * All of them live under this run's state dir, which the global teardown removes anyway.
 * `{ owner: user }` hands the new directory to that user (see users.ts), for rootless runs.
 * Set ROOTC_TEST_KEEP_TMP=1 to keep them for a look (their paths are printed).
 */
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished, TestRunner } from 'vitest';
import { servicesContext } from './services.js';

const keep = process.env.ROOTC_TEST_KEEP_TMP === '1';
const atExit: string[] = [];
process.on('exit', () => {
  for (const d of atExit) rmSync(d, { recursive: true, force: true });
});

function base(): string {
  try {
    return join(servicesContext().stateDir, 'tmp');
  } catch {
    return tmpdir();
  }
}

export interface TempDirOptions {
  owner?: { uid: number; gid: number };
}

export async function tempDir(prefix = 'tmp', opts: TempDirOptions = {}): Promise<string> {
  const dir = await mkdtemp(join(base(), `${prefix.replace(/[^A-Za-z0-9._-]/g, '_')}-`));
  if (opts.owner) chownSync(dir, opts.owner.uid, opts.owner.gid);
  if (keep) {
    process.stdout.write(`[rootc-test] keeping ${dir}\n`);
  } else if (TestRunner.getCurrentTest()) {
    onTestFinished(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
  } else {
    atExit.push(dir);
  }
  return dir;
}

/** Synchronous variant for collection time; removed when the worker exits. */
export function tempDirSync(prefix = 'tmp', opts: TempDirOptions = {}): string {
  const dir = mkdtempSync(join(base(), `${prefix.replace(/[^A-Za-z0-9._-]/g, '_')}-`));
  if (opts.owner) chownSync(dir, opts.owner.uid, opts.owner.gid);
  if (!keep) atExit.push(dir);
  return dir;
}
