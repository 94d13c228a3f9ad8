import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  type Compression,
  compressStream,
  decompressStream,
  detectCompression,
} from '../../src/tar/compress.js';
import { collect, hasTool, listTar, tmp } from './helpers.js';

const KINDS: { kind: Compression; flag: string; tool: string }[] = [
  { kind: 'none', flag: '', tool: 'tar' },
  { kind: 'gzip', flag: '-z', tool: 'gzip' },
  { kind: 'bzip2', flag: '-j', tool: 'bzip2' },
  { kind: 'xz', flag: '-J', tool: 'xz' },
  { kind: 'zstd', flag: '--zstd', tool: 'zstd' },
];

describe('compression', () => {
  const src = tmp();
  mkdirSync(path.join(src, 'tree/etc'), { recursive: true });
  writeFileSync(path.join(src, 'tree/etc/hostname'), 'box\n');
  writeFileSync(path.join(src, 'tree/big'), Buffer.alloc(300_000, 'abc'));

  for (const { kind, flag, tool } of KINDS) {
    it(`detects and decompresses ${kind} made by the real tools (name says nothing)`, async (ctx) => {
      if (!hasTool('tar') || !hasTool(tool)) {
        if (process.env.CI === 'true') throw new Error(`${tool} missing`);
        ctx.skip();
      }
      const file = path.join(src, `archive-${kind}.bin`);
      execFileSync('tar', ['-c', ...(flag ? [flag] : []), '-f', file, '-C', path.join(src, 'tree'), '.']);
      const { compression, stream } = await decompressStream(createReadStream(file));
      expect(compression).toBe(kind);
      const entries = await listTar(await collect(stream));
      expect(entries.find((e) => e.path === './etc/hostname')?.content).toBe('box\n');
      expect(entries.find((e) => e.path === './big')?.content?.length).toBe(300_000);
    });
  }

  for (const kind of ['gzip', 'bzip2', 'xz', 'zstd'] as const) {
    it(`compresses ${kind} deterministically and round-trips`, async (ctx) => {
      const tool = kind === 'gzip' ? 'tar' : kind;
      if (!hasTool(tool)) ctx.skip();
      const data = Buffer.alloc(1_000_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
      const once = await collect(Readable.from([data]).pipe(compressStream(kind)));
      const twice = await collect(Readable.from([data]).pipe(compressStream(kind)));
      expect(once.equals(twice)).toBe(true);
      expect(detectCompression(once)).toBe(kind);
      const { stream } = await decompressStream(Readable.from([once]));
      expect((await collect(stream)).equals(data)).toBe(true);
    });
  }

  it('writes a fixed gzip header: mtime 0, OS byte 255', async () => {
    const gz = await collect(Readable.from([Buffer.from('hello')]).pipe(compressStream('gzip')));
    expect(gz.readUInt32LE(4)).toBe(0);
    expect(gz[9]).toBe(0xff);
  });

  it('reports a corrupt xz stream as an error', async (ctx) => {
    if (!hasTool('xz')) ctx.skip();
    const bad = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(100, 1)]);
    const { stream } = await decompressStream(Readable.from([bad]));
    await expect(
      pipeline(stream, async function* (s) {
        for await (const _ of s) yield _;
      }),
    ).rejects.toThrow(/xz failed/);
  });

  it('treats tiny and empty inputs as uncompressed', async () => {
    const { compression, stream } = await decompressStream(Readable.from([Buffer.from('ab')]));
    expect(compression).toBe('none');
    expect((await collect(stream)).toString()).toBe('ab');
    const empty = await decompressStream(Readable.from([]));
    expect((await collect(empty.stream)).length).toBe(0);
  });
});
