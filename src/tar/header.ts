import type { EntryType } from './entry.js';

/**
 * USTAR + PAX header codec. Our own rather than tar-stream's: tar-stream 3 decodes PAX values as UTF-8 text
 * (binary `security.capability` values come out mangled), ignores PAX uid/gid/mtime when reading, and clamps
 * ids ≥ 2^21 silently when writing. Layout and rules as in POSIX pax and Go's archive/tar.
 */

export const BLOCK = 512;

/** Decoded header of one tar member, before path normalization. */
export interface RawHeader {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, Buffer>;
}

const TYPEFLAG: Record<EntryType, number> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  directory: 0x35,
  fifo: 0x36,
};

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

export interface HeaderFields {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

/** Encodes one member's header blocks (a PAX extended header first when needed). Deterministic. */
export function encodeHeader(h: HeaderFields): Buffer {
  const pax: [string, Buffer][] = [];
  let name = h.path;
  if (h.type === 'directory' && !name.endsWith('/')) name += '/';
  const nameBytes = Buffer.from(name, 'utf8');
  let ustarName = name;
  if (nameBytes.length > 100 || !isAscii(nameBytes)) {
    pax.push(['path', nameBytes]);
    ustarName = asciiPrefix(name, 100);
  }
  const link = h.linkname ?? '';
  const linkBytes = Buffer.from(link, 'utf8');
  let ustarLink = link;
  if (linkBytes.length > 100 || !isAscii(linkBytes)) {
    pax.push(['linkpath', linkBytes]);
    ustarLink = asciiPrefix(link, 100);
  }
  const num = (key: string, value: number, max: number): number => {
    if (value >= 0 && value <= max && Number.isInteger(value)) return value;
    pax.push([key, Buffer.from(String(Math.trunc(value)))]);
    return 0;
  };
  const uid = num('uid', h.uid, MAX_OCTAL_7);
  const gid = num('gid', h.gid, MAX_OCTAL_7);
  const size = num('size', h.size, MAX_OCTAL_11);
  const mtime = num('mtime', Math.trunc(h.mtime), MAX_OCTAL_11);
  if (h.xattrs) {
    for (const key of Object.keys(h.xattrs)) pax.push([`SCHILY.xattr.${key}`, h.xattrs[key]!]);
  }

  const main = ustarBlock({
    name: ustarName,
    mode: h.mode & 0o7777,
    uid,
    gid,
    size,
    mtime,
    typeflag: TYPEFLAG[h.type],
    linkname: ustarLink,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return main;

  pax.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const body = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const paxHeader = ustarBlock({
    name: asciiPrefix(`PaxHeaders/${name}`, 100),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    typeflag: 0x78, // 'x'
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, body, Buffer.alloc(padding(body.length)), main]);
}

/** Zero bytes needed after `size` bytes of content to reach the block boundary. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

interface UstarFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function ustarBlock(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, f.mode);
  writeOctal(b, 108, 8, f.uid);
  writeOctal(b, 116, 8, f.gid);
  writeOctal(b, 124, 12, f.size);
  writeOctal(b, 136, 12, f.mtime);
  b[156] = f.typeflag;
  b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  writeOctal(b, 329, 8, f.devmajor);
  writeOctal(b, 337, 8, f.devminor);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  const s = sum.toString(8).padStart(6, '0');
  b.write(`${s}\u0000 `, 148, 8, 'latin1');
  return b;
}

function writeOctal(b: Buffer, off: number, len: number, value: number): void {
  const digits = value.toString(8).padStart(len - 1, '0');
  if (digits.length > len - 1) throw new Error(`tar header: value ${value} does not fit`);
  b.write(digits, off, len - 1, 'latin1');
  b[off + len - 1] = 0;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ' '=' '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), value, Buffer.from('\n')]);
}

function isAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80 || b[i] === 0) return false;
  return true;
}

/** An ASCII stand-in for a PAX-carried name, so old readers see something sensible. */
function asciiPrefix(s: string, max: number): string {
  let out = s.replace(/[^\x20-\x7e]/g, '_');
  if (out.length > max) out = out.slice(0, max);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

export type RawBlockKind =
  | { kind: 'entry'; header: RawHeader }
  | { kind: 'pax'; size: number; global: boolean }
  | { kind: 'gnu-longname'; size: number }
  | { kind: 'gnu-longlink'; size: number }
  | { kind: 'skip'; size: number; typeflag: string };

/** True for a block of zeros (end of archive). */
export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Decodes one 512-byte header block. Throws on a bad checksum (not a tar, or corrupt). */
export function decodeBlock(b: Buffer): RawBlockKind {
  const stored = parseNumber(b, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v >= 0x80 ? v - 256 : v;
  }
  if (stored !== unsigned && stored !== signed) throw new Error('invalid tar header (checksum mismatch)');
  const flag = b[156]!;
  const size = parseNumber(b, 124, 12);
  const isUstar = b.toString('latin1', 257, 263) === 'ustar\u0000';
  let name = cstring(b, 0, 100);
  if (isUstar) {
    const prefix = cstring(b, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  const header = (type: EntryType): RawBlockKind => ({
    kind: 'entry',
    header: {
      name,
      type,
      mode: parseNumber(b, 100, 8) & 0o7777,
      uid: parseNumber(b, 108, 8),
      gid: parseNumber(b, 116, 8),
      mtime: parseNumber(b, 136, 12),
      size: type === 'file' ? size : 0,
      linkname: cstring(b, 157, 100),
      devmajor: parseNumber(b, 329, 8),
      devminor: parseNumber(b, 337, 8),
      xattrs: {},
    },
  });
  switch (flag) {
    case 0: // old (v7) archives marked directories by a trailing slash only
      return name.endsWith('/') ? header('directory') : header('file');
    case 0x30:
    case 0x37: // contiguous file
      return header('file');
    case 0x31:
      return header('hardlink');
    case 0x32:
      return header('symlink');
    case 0x33:
      return header('char');
    case 0x34:
      return header('block');
    case 0x35:
      return header('directory');
    case 0x36:
      return header('fifo');
    case 0x78: // 'x'
      return { kind: 'pax', size, global: false };
    case 0x67: // 'g'
      return { kind: 'pax', size, global: true };
    case 0x4c: // 'L'
      return { kind: 'gnu-longname', size };
    case 0x4b: // 'K'
      return { kind: 'gnu-longlink', size };
    default:
      return { kind: 'skip', size, typeflag: String.fromCharCode(flag) };
  }
}

/** Parses PAX records; values stay bytes (xattr values are binary). */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    const sp = buf.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = Number.parseInt(buf.toString('latin1', pos, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > buf.length) throw new Error('invalid PAX record');
    const rec = buf.subarray(sp + 1, pos + len - 1); // drop trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

/**
 * The extension records read so far (PAX extended and global headers, GNU long names), folded into
 * the member header that follows them. One reader of headers, whatever reads the blocks: `readTar`
 * over a stream, `scanNormalized` by positioned reads.
 */
export class PendingExtensions {
  private globalPax: Map<string, Buffer> | null = null;
  /** The PAX records of the next member alone (not the global ones). */
  pax: Map<string, Buffer> | null = null;
  private longName: string | null = null;
  private longLink: string | null = null;

  /** Takes an extension record's data (`data` is kept: pass a copy of a buffer that is reused). */
  add(kind: 'pax' | 'gnu-longname' | 'gnu-longlink', global: boolean, data: Buffer): void {
    if (kind === 'pax') {
      const parsed = parsePax(data);
      if (global) this.globalPax = new Map([...(this.globalPax ?? []), ...parsed]);
      else this.pax = parsed;
      return;
    }
    const end = data.indexOf(0);
    const s = data.toString('utf8', 0, end < 0 ? data.length : end);
    if (kind === 'gnu-longname') this.longName = s;
    else this.longLink = s;
  }

  /** The member's header with the extensions applied; the member's own ones are then dropped. */
  apply(h: RawHeader): RawHeader {
    const merged =
      this.globalPax && this.pax ? new Map([...this.globalPax, ...this.pax]) : (this.pax ?? this.globalPax);
    const out = applyExtensions(h, merged, this.longName, this.longLink);
    this.drop();
    return out;
  }

  /** Drops the member's own extensions (a member that is skipped). */
  drop(): void {
    this.pax = this.longName = this.longLink = null;
  }
}

/** Applies PAX overrides (extended then global defaults) and GNU long names to a decoded header. */
export function applyExtensions(
  h: RawHeader,
  pax: Map<string, Buffer> | null,
  longName: string | null,
  longLink: string | null,
): RawHeader {
  if (longName !== null) h.name = longName;
  if (longLink !== null) h.linkname = longLink;
  if (!pax) return h;
  for (const [key, value] of pax) {
    switch (key) {
      case 'path':
        h.name = value.toString('utf8');
        break;
      case 'linkpath':
        h.linkname = value.toString('utf8');
        break;
      case 'size':
        if (h.type === 'file') h.size = Number.parseInt(value.toString('latin1'), 10);
        break;
      case 'uid':
        h.uid = Number.parseInt(value.toString('latin1'), 10);
        break;
      case 'gid':
        h.gid = Number.parseInt(value.toString('latin1'), 10);
        break;
      case 'mtime':
        h.mtime = Math.floor(Number.parseFloat(value.toString('latin1')));
        break;
      default:
        if (key.startsWith('SCHILY.xattr.')) h.xattrs[key.slice('SCHILY.xattr.'.length)] = value;
    }
  }
  return h;
}

function cstring(b: Buffer, off: number, len: number): string {
  let end = b.indexOf(0, off);
  if (end < 0 || end > off + len) end = off + len;
  return b.toString('utf8', off, end);
}

/** Octal (NUL/space padded) or GNU base-256 numbers. */
function parseNumber(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    // base-256, big-endian, first byte's top bit is the marker (negative values not supported)
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  // Octal digits, optionally led by spaces and ended by NUL or space.
  let i = off;
  const end = off + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x30 && c <= 0x37) v = v * 8 + (c - 0x30);
    else if (c === 0 || c === 0x20) break;
    else throw new Error('invalid tar header (bad number)');
  }
  return v;
}
