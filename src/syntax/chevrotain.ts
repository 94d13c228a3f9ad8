/**
 * Chevrotain, loaded from its single-file bundle on first use. The package entry pulls in lodash-es
 * as several hundred separate ES modules, which costs ~0.7 s of start-up on every `rootc` run; the
 * bundle that ships in the same package (`lib/chevrotain.min.mjs`, same version, same API) loads in
 * ~30 ms, and only when a file needs the Chevrotain path (most take the fast path, `fast.ts`).
 * The parser is synchronous, so the bundle is loaded with `require()`, which loads ES modules from
 * Node 20.19 and 22.12 on; an older Node loads it up front instead, as rootc always did.
 * Falls back to the package entry if the bundle is not where it should be.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Chevrotain from 'chevrotain';

type ChevrotainModule = typeof Chevrotain;

const require = createRequire(import.meta.url);

function bundleUrl(): URL {
  return new URL('../chevrotain.min.mjs', pathToFileURL(require.resolve('chevrotain')));
}

function loadSync(): ChevrotainModule {
  // Some Node versions (22.12) warn on stderr the first time require() loads an ES module: rootc's
  // output must not change with the parser's path, so that one warning is dropped here.
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/ES Module|require\(\)/.test(text)) return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return require(fileURLToPath(bundleUrl())) as ChevrotainModule;
  } catch {
    return require('chevrotain') as ChevrotainModule;
  } finally {
    process.emitWarning = emit;
  }
}

async function loadAsync(): Promise<ChevrotainModule> {
  try {
    return (await import(bundleUrl().href)) as ChevrotainModule;
  } catch {
    return await import('chevrotain');
  }
}

let loaded: ChevrotainModule | undefined = process.features.require_module ? undefined : await loadAsync();

/** The Chevrotain module, loaded on first use. */
export function chevrotain(): ChevrotainModule {
  loaded ??= loadSync();
  return loaded;
}
