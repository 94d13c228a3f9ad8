/**
 * Extension records, read the same way by `readTar` (a stream) and `scanNormalized` (positioned reads):
 * a global PAX header applies to every later member unless a member's own PAX record overrides it, and
 * GNU long-name records give the next member its name.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { scanNormalized } from '../../src/tar/extract-gnu.js';
import { BLOCK, encodeHeader } from '../../src/tar/header.js';
import { readTar } from '../../src/tar/reader.js';
import { tarChunks } from '../../src/tar/writer.js';
import { requireTools } from '../support/index.js';
import { collect, fileEntry, tmp } from './helpers.js';

/** `encodeHeader`'s PAX extended header block turned into a global one ('g'), checksum recomputed. */
function globalPax(fields: Parameters<typeof encodeHeader>[0]): Buffer {
  const blocks = encodeHeader(fields);
  const size = blocks.length - BLOCK; // the PAX header, its records and padding; not the member's block
  const pax = Buffer.from(blocks.subarray(0, size));
  expect(pax.toString('latin1', 156, 157)).toBe('x');
  pax.write('g', 156, 'latin1');
  pax.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += pax[i]!;
  pax.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return pax;
}

async function members(bytes: Buffer) {
  const out: { name: string; uid: number; gid: number }[] = [];
  for await (const m of readTar(Readable.from([bytes]))) {
    for await (const _ of m.body()) {
      // drain
    }
    out.push({ name: m.header.name, uid: m.header.uid, gid: m.header.gid });
  }
  return out;
}

describe('readTar: extension records', () => {
  it('a global PAX header applies to the members after it; a member’s own PAX record wins', async () => {
    const global = globalPax({
      path: 'g',
      type: 'file',
      mode: 0o644,
      uid: 3_000_000,
      gid: 0,
      mtime: 0,
      size: 0,
    });
    const rest = await collect(
      tarChunks([
        { ...fileEntry('a', 'a'), uid: 0, gid: 5 },
        { ...fileEntry('b', 'b'), uid: 4_000_000, gid: 6 },
      ]),
    );
    const bytes = Buffer.concat([global, rest]);
    expect(await members(bytes)).toEqual([
      { name: 'a', uid: 3_000_000, gid: 5 },
      { name: 'b', uid: 4_000_000, gid: 6 },
    ]);
    // rootc never hands such an archive to GNU tar as it is: the global header is read differently.
    const file = path.join(tmp(), 'global.tar');
    writeFileSync(file, bytes);
    expect(await scanNormalized(file, { devices: true, fifos: true })).toBeUndefined();
  });

  it('GNU long names and long link targets (tar --format=gnu)', async () => {
    if (!requireTools('tar')) return;
    const root = tmp();
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`;
    mkdirSync(path.join(root, 'src', path.dirname(long)), { recursive: true });
    writeFileSync(path.join(root, 'src', long), 'x');
    execFileSync('ln', ['-s', long, path.join(root, 'src', 'link')]);
    const file = path.join(root, 'gnu.tar');
    execFileSync('tar', ['--format=gnu', '-cf', file, '-C', path.join(root, 'src'), long, 'link']);
    const names = (await members(Buffer.from(execFileSync('cat', [file])))).map((m) => m.name);
    expect(names).toEqual([long, 'link']);
    const linkTarget: string[] = [];
    for await (const m of readTar(Readable.from([Buffer.from(execFileSync('cat', [file]))]))) {
      if (m.header.type === 'symlink') linkTarget.push(m.header.linkname);
    }
    expect(linkTarget).toEqual([long]);
    // GNU tar reads these the same way: scanNormalized may hand the file to it.
    expect(await scanNormalized(file, { devices: true, fifos: true })).toMatchObject({ entries: 2 });
  });
});
