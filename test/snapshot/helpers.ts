import { createHash } from 'node:crypto';
import type { TarEntrySpec } from '../../src/tar/entry.js';

/** Everything a layer entry says except its mtime (the two drivers run the steps at different times). */
export async function describeEntries(entries: AsyncIterable<TarEntrySpec>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of entries) {
    let content = '';
    if (e.type === 'file' && e.open) {
      const h = createHash('sha256');
      for await (const chunk of e.open()) h.update(chunk as Buffer);
      content = ` sha256:${h.digest('hex').slice(0, 12)} size:${e.size}`;
    }
    const link = e.linkname !== undefined ? ` -> ${e.linkname}` : '';
    const dev = e.type === 'char' || e.type === 'block' ? ` dev:${e.devmajor},${e.devminor}` : '';
    const x = e.xattrs
      ? ` xattrs:${Object.entries(e.xattrs)
          .map(([k, v]) => `${k}=${v.toString('hex')}`)
          .join(',')}`
      : '';
    out.push(`${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid}${link}${dev}${content}${x}`);
  }
  return out;
}
