import { describe, expect, it } from 'vitest';
import { baseCacheKey, canonicalStepJson, stepCacheKey } from '../../src/lower/index.js';
import type { Step } from '../../src/lower/ir.js';
import { steps } from './helpers.js';

const location = {
  file: 'Rootfile',
  line: 1,
  column: 1,
  endLine: 1,
  endColumn: 2,
  text: 'x',
  includeChain: [],
};
const run: Step = {
  op: 'run',
  argv: ['/bin/sh', '-c', 'make'],
  shellForm: true,
  env: ['PATH=/bin', 'A=1'],
  user: '',
  workdir: '/src',
  network: 'default',
  inlineFiles: [],
  location,
};

/** Every single-field change of the RUN step above. */
const variants: [string, Step][] = [
  ['argv', { ...run, argv: ['/bin/sh', '-c', 'make all'] }],
  ['argv order', { ...run, argv: ['-c', '/bin/sh', 'make'] }],
  ['shellForm', { ...run, shellForm: false }],
  ['env value', { ...run, env: ['PATH=/bin', 'A=2'] }],
  ['env order', { ...run, env: ['A=1', 'PATH=/bin'] }],
  ['user', { ...run, user: 'app' }],
  ['workdir', { ...run, workdir: '/' }],
  ['network', { ...run, network: 'none' }],
  ['inline file', { ...run, inlineFiles: [{ path: '/dev/pipes/x', content: '#!/bin/sh\n', mode: 0o755 }] }],
];

describe('canonical step form and cache keys', () => {
  it('sorts keys and leaves the location out', () => {
    expect(canonicalStepJson(run)).toBe(
      '{"argv":["/bin/sh","-c","make"],"env":["PATH=/bin","A=1"],"inlineFiles":[],"network":"default","op":"run","shellForm":true,"user":"","workdir":"/src"}',
    );
  });

  it('gives the same key for the same step, whatever its location or key order', () => {
    const moved: Step = {
      ...run,
      location: { ...location, file: 'other', line: 40, includeChain: [{ file: 'a', line: 1, column: 1 }] },
    };
    const reordered = Object.fromEntries(Object.entries(run).reverse()) as Step;
    const k = stepCacheKey('parent', run, ['sha256:1']);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(stepCacheKey('parent', moved, ['sha256:1'])).toBe(k);
    expect(stepCacheKey('parent', reordered, ['sha256:1'])).toBe(k);
  });

  it.each(variants)('changes the key when %s changes', (_name, changed) => {
    expect(stepCacheKey('p', changed, [])).not.toBe(stepCacheKey('p', run, []));
  });

  it('changes the key with the parent and with the input digests', () => {
    const k = stepCacheKey('p', run, ['a', 'b']);
    expect(stepCacheKey('q', run, ['a', 'b'])).not.toBe(k);
    expect(stepCacheKey('p', run, ['b', 'a'])).not.toBe(k);
    expect(stepCacheKey('p', run, ['ab'])).not.toBe(k);
    expect(stepCacheKey('p', run, ['a', 'b', ''])).not.toBe(k);
  });

  it('gives identical keys to identical instructions on different lines of a compiled Rootfile', () => {
    const st = steps('FROM scratch\nCOPY a /a\n\n# moved\nCOPY a /a\nCOPY a /b\n');
    expect(canonicalStepJson(st[0]!)).toBe(canonicalStepJson(st[1]!));
    expect(canonicalStepJson(st[2]!)).not.toBe(canonicalStepJson(st[1]!));
  });

  it('keys bases too', () => {
    const a = baseCacheKey({ kind: 'tarball', source: { type: 'path', path: 'r.tar' } }, ['sha256:x']);
    expect(baseCacheKey({ kind: 'tarball', source: { type: 'path', path: 'r.tar' } }, ['sha256:x'])).toBe(a);
    expect(baseCacheKey({ kind: 'tarball', source: { type: 'path', path: 'r.tar' } }, ['sha256:y'])).not.toBe(
      a,
    );
  });
});
