import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileDigestCache } from '../../src/cache/digests.js';

const sha = (file: string) => `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;

describe('FileDigestCache', () => {
  it('hashes a big file on a worker thread or inline to the same digest, and remembers it by stat', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rootc-digests-'));
    const big = path.join(dir, 'big.bin');
    writeFileSync(big, randomBytes((16 << 20) + 12345)); // over the worker threshold, not a whole MiB
    const want = sha(big);
    expect(await new FileDigestCache().digest(big)).toBe(want);
    const cache = new FileDigestCache(path.join(dir, 'digests.json'));
    expect(await cache.digest(big, undefined, { offThread: true })).toBe(want);
    expect(cache.known(big)).toBe(want);
    cache.save();
    expect(new FileDigestCache(path.join(dir, 'digests.json')).known(big)).toBe(want);
    // A changed file is hashed again.
    writeFileSync(big, 'small now');
    expect(cache.known(big)).toBeUndefined();
    expect(await cache.digest(big, undefined, { offThread: true })).toBe(sha(big));
  });
});
