import path from 'node:path';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { BlobStore } from '../../src/image/blobstore.js';
import type { SourceContext } from '../../src/sources/source.js';
import { tempDirSync } from '../support/index.js';

/** A fresh store and cache for a source under test; its warnings are collected in `warnings`. */
export function sourceContext(baseDir?: string): SourceContext & { warnings: Diagnostic[] } {
  const dir = tempDirSync('src');
  const warnings: Diagnostic[] = [];
  return {
    store: new BlobStore(path.join(dir, 'store')),
    cacheDir: path.join(dir, 'cache'),
    ...(baseDir ? { baseDir } : {}),
    warnings,
    warn: (d) => warnings.push(d),
  };
}
