import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { TarEntrySpec } from '../../src/tar/entry.js';
import { readTar } from '../../src/tar/reader.js';

export function tmp(prefix = 'rootc-tar-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function collect(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** Entries of a tar (headers plus file contents as strings), for assertions. */
export async function listTar(bytes: Buffer): Promise<(Omit<TarEntrySpec, 'open'> & { content?: string })[]> {
  const out: (Omit<TarEntrySpec, 'open'> & { content?: string })[] = [];
  for await (const m of readTar(Readable.from([bytes]))) {
    const h = m.header;
    const e: Omit<TarEntrySpec, 'open'> & { content?: string } = {
      path: h.name,
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      mtime: h.mtime,
    };
    if (h.type === 'file') e.content = (await collect(m.body())).toString('utf8');
    if (h.linkname) e.linkname = h.linkname;
    if (Object.keys(h.xattrs).length) e.xattrs = h.xattrs;
    if (h.type === 'char' || h.type === 'block') {
      e.devmajor = h.devmajor;
      e.devminor = h.devminor;
    }
    out.push(e);
  }
  return out;
}

export function fileEntry(p: string, content: string, extra: Partial<TarEntrySpec> = {}): TarEntrySpec {
  const buf = Buffer.from(content);
  return {
    path: p,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 1_000_000,
    size: buf.length,
    open: () => Readable.from([buf]),
    ...extra,
  };
}
