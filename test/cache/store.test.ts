import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildCache, defaultCacheDir } from '../../src/cache/store.js';

describe('BuildCache', () => {
  it('stores and finds step records, leaving no temporary files', () => {
    const cache = new BuildCache(mkdtempSync(path.join(tmpdir(), 'rootc-cache-')));
    expect(cache.getStep('abc')).toBeUndefined();
    cache.putStep({
      version: 1,
      key: 'abc',
      layer: { digest: 'sha256:1', diffId: 'sha256:2', size: 3, mediaType: 'x' },
    });
    expect(cache.getStep('abc')?.layer?.size).toBe(3);
    expect(readdirSync(path.join(cache.dir, 'steps'))).toEqual(['abc.json']);
    expect(cache.listSteps().map((s) => s.key)).toEqual(['abc']);
  });
  it('ignores a record whose key does not match its name', () => {
    const cache = new BuildCache(mkdtempSync(path.join(tmpdir(), 'rootc-cache-')));
    cache.putStep({ version: 1, key: 'k1' });
    expect(cache.getStep('k2')).toBeUndefined();
  });
  it('sweeps temp dirs of dead builds only', () => {
    const cache = new BuildCache(mkdtempSync(path.join(tmpdir(), 'rootc-cache-')));
    const mine = cache.makeTempDir('build');
    const dead = path.join(cache.tmpDir, 'build-999999999-abcd');
    new BuildCache(cache.dir).makeTempDir('x');
    mkdirSync(dead);
    cache.sweepTemp();
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(dead)).toBe(false);
  });
  it('follows XDG_CACHE_HOME and ROOTC_CACHE_DIR', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/rootc');
    expect(defaultCacheDir({ ROOTC_CACHE_DIR: '/y', XDG_CACHE_HOME: '/x' })).toBe('/y');
  });
});
