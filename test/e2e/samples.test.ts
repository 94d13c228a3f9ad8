/** Every sample builds, loads into a real dockerd and prints what its README says. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dockerLoad,
  dockerRun,
  repoRoot,
  requireTools,
  runRootc,
  tempDir,
  uniqueRef,
} from '../support/index.js';

describe('samples/hello', () => {
  if (!requireTools('docker', 'root')) return;
  it('builds from the host with --deps, without network, and runs in docker', async () => {
    const out = await tempDir('sample-hello');
    const ref = uniqueRef('hello');
    const r = await runRootc([
      'build',
      path.join(repoRoot, 'samples/hello'),
      '-t',
      ref,
      '--progress=plain',
      '-o',
      `type=docker,dest=${out}/hello.tar`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    await dockerLoad(path.join(out, 'hello.tar'));
    const run = await dockerRun(ref);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^Hello from a rootc image: Linux, uid 0, 7 programs$/);
  });
});
