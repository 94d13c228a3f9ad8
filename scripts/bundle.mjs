#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/cli/main.js, from tsc) into dist/bundle/ with esbuild: one module
 * for what every command loads, and a chunk per lazily imported part (the build engine, the
 * language server, Chevrotain's parser). Loading ~50 separate ES modules cost ~30 ms of every
 * command's start-up (resolution, one compile each); `rootc check` of a two-line file went from
 * 210 to 180 ms. npm packages stay external: Node resolves them as before.
 *
 * dist/bundle/ sits two levels below the repository, as dist/cli/ does, so the paths that modules
 * compute from import.meta.url (stdlib/, docs/) are the same in both.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const outdir = here('../dist/bundle');

rmSync(outdir, { recursive: true, force: true });
await build({
  // The layer thread's script (build/layers.ts) is an entry of its own, next to main.js.
  entryPoints: { main: here('../dist/cli/main.js'), 'layer-worker': here('../dist/build/layer-worker.js') },
  bundle: true,
  splitting: true,
  outdir,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
