/**
 * vitest globalSetup: one state directory per test run, handed to every worker with
 * `provide('rootcTest', …)`. The servers themselves (dockerd, registry) start lazily, once, when
 * the first test file that needs them asks (services.ts), so a run of the parser tests alone
 * starts nothing. Teardown stops whatever was started and removes the directory.
 *
 * Already running servers are reused instead: DOCKER_HOST=unix://… (if it answers /_ping) and
 * ROOTC_TEST_REGISTRY=127.0.0.1:PORT (if it answers GET /v2/).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { dockerAnswers, type ServicesContext, stopServices } from './services.js';

async function registryAnswers(address: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(3000) });
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

/**
 * A run killed before its teardown (SIGKILL, a closed terminal) leaves its dockerd and registry
 * running and its dir in place: stop and remove those of runs whose vitest process is gone.
 */
async function sweepStaleRuns(): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('rootc-test-')) continue;
    const dir = join(tmpdir(), name);
    const ownerFile = join(dir, 'owner.pid');
    if (!existsSync(ownerFile)) continue;
    const owner = Number(readFileSync(ownerFile, 'utf8').trim());
    if (owner && existsSync(`/proc/${owner}`)) continue;
    process.stdout.write(`[rootc-test] cleaning up after an earlier run that was killed: ${dir}\n`);
    await stopServices(dir, (line) => process.stdout.write(`[rootc-test]   ${line}\n`));
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await sweepStaleRuns();
  // Short path: dockerd's unix sockets live under it (108-byte limit).
  const stateDir = mkdtempSync(join(tmpdir(), 'rootc-test-'));
  writeFileSync(join(stateDir, 'owner.pid'), `${process.pid}\n`);
  // Readable by the unprivileged test user of rootless tests.
  chmodSync(stateDir, 0o755);
  mkdirSync(join(stateDir, 'tmp'), { mode: 0o1777 });
  chmodSync(join(stateDir, 'tmp'), 0o1777);

  const ctx: ServicesContext = { stateDir };
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost && (await dockerAnswers(dockerHost))) ctx.externalDockerHost = dockerHost;
  const registry = process.env.ROOTC_TEST_REGISTRY;
  if (registry && (await registryAnswers(registry))) ctx.externalRegistry = registry;

  project.provide('rootcTest', ctx);
  process.env.ROOTC_TEST_STATE_DIR = stateDir;

  return async () => {
    const verbose = process.env.ROOTC_TEST_VERBOSE === '1';
    await stopServices(stateDir, (line, unusual) => {
      if (unusual || verbose) process.stdout.write(`[rootc-test] ${line}\n`);
    });
  };
}
