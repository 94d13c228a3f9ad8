/**
 * Chevrotain, loaded from its single-file bundle. The package entry pulls in lodash-es as several
 * hundred separate ES modules, which costs ~0.7 s of start-up on every `rootc` run; the bundle that
 * ships in the same package (`lib/chevrotain.min.mjs`, same version, same API) loads in ~50 ms.
 * Falls back to the package entry if the bundle is not where it should be.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type * as Chevrotain from 'chevrotain';

async function load(): Promise<typeof Chevrotain> {
  try {
    const entry = createRequire(import.meta.url).resolve('chevrotain');
    return (await import(new URL('../chevrotain.min.mjs', pathToFileURL(entry)).href)) as typeof Chevrotain;
  } catch {
    return await import('chevrotain');
  }
}

const chevrotain = await load();
export const { createToken, EmbeddedActionsParser, Lexer, tokenMatcher } = chevrotain;
