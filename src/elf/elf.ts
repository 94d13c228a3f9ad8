/**
 * A minimal ELF reader for what COPY --deps needs: the program interpreter (PT_INTERP), DT_NEEDED,
 * DT_RUNPATH and DT_RPATH, read straight from the file with positioned reads (never the whole file), so
 * the host's loader is never run on an image's binary (as `ldd` would).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ElfInfo {
  class: 32 | 64;
  littleEndian: boolean;
  machine: number;
  /** ET_EXEC 2, ET_DYN 3, … */
  type: number;
  interpreter?: string;
  needed: string[];
  runpath: string[];
  rpath: string[];
  soname?: string;
}

export class ElfError extends Error {}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/** True when the file starts with the ELF magic. */
export function isElf(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b[0] === 0x7f && b.toString('latin1', 1, 4) === 'ELF';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function readElf(file: string): ElfInfo {
  const fd = openSync(file, 'r');
  try {
    return parse(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

function parse(fd: number, fileSize: number): ElfInfo {
  const read = (offset: number, length: number): Buffer => {
    if (offset < 0 || length < 0 || offset + length > fileSize) {
      throw new ElfError(
        `corrupt ELF header: read of ${length} bytes at ${offset} is past the end of the file`,
      );
    }
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    if (n !== length) throw new ElfError('corrupt ELF header: short read');
    return b;
  };
  if (fileSize < 52) throw new ElfError('not an ELF file (too short)');
  const ident = read(0, 16);
  if (ident[0] !== 0x7f || ident.toString('latin1', 1, 4) !== 'ELF') throw new ElfError('not an ELF file');
  const cls = ident[4];
  const data = ident[5];
  if (cls !== 1 && cls !== 2) throw new ElfError(`corrupt ELF header: bad class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfError(`corrupt ELF header: bad data encoding ${data}`);
  const is64 = cls === 2;
  const le = data === 1;
  const hdr = read(0, is64 ? 64 : 52);
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const addr = (b: Buffer, o: number): number => {
    if (!is64) return u32(b, o);
    const v = le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError('corrupt ELF header: offset out of range');
    return Number(v);
  };
  const type = u16(hdr, 16);
  const machine = u16(hdr, 18);
  const phoff = addr(hdr, is64 ? 32 : 28);
  const phentsize = u16(hdr, is64 ? 54 : 42);
  const phnum = u16(hdr, is64 ? 56 : 44);
  if (phnum > 0 && phentsize < (is64 ? 56 : 32))
    throw new ElfError('corrupt ELF header: bad program header size');
  if (phnum > 4096) throw new ElfError('corrupt ELF header: too many program headers');

  interface Segment {
    type: number;
    offset: number;
    vaddr: number;
    filesz: number;
  }
  const segments: Segment[] = [];
  if (phnum > 0) {
    const ph = read(phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      segments.push(
        is64
          ? { type: u32(ph, o), offset: addr(ph, o + 8), vaddr: addr(ph, o + 16), filesz: addr(ph, o + 32) }
          : { type: u32(ph, o), offset: u32(ph, o + 4), vaddr: u32(ph, o + 8), filesz: u32(ph, o + 16) },
      );
    }
  }
  const info: ElfInfo = {
    class: is64 ? 64 : 32,
    littleEndian: le,
    machine,
    type,
    needed: [],
    runpath: [],
    rpath: [],
  };
  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) {
    if (interp.filesz > 4096) throw new ElfError('corrupt ELF header: PT_INTERP too long');
    info.interpreter = cString(read(interp.offset, interp.filesz), 0);
  }
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic) return info;
  if (dynamic.filesz > 1 << 20) throw new ElfError('corrupt ELF header: PT_DYNAMIC too large');
  const dyn = read(dynamic.offset, dynamic.filesz);
  const entsize = is64 ? 16 : 8;
  const entries: [number, number][] = [];
  for (let o = 0; o + entsize <= dyn.length; o += entsize) {
    const tag = is64 ? addrSigned(dyn, o, le) : u32(dyn, o);
    const val = is64 ? addr(dyn, o + 8) : u32(dyn, o + 4);
    if (tag === DT_NULL) break;
    entries.push([tag, val]);
  }
  const strtabAddr = entries.find(([t]) => t === DT_STRTAB)?.[1];
  const strsz = entries.find(([t]) => t === DT_STRSZ)?.[1];
  if (strtabAddr === undefined || strsz === undefined) return info;
  // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segments.
  const load = segments.find(
    (s) => s.type === PT_LOAD && strtabAddr >= s.vaddr && strtabAddr < s.vaddr + s.filesz,
  );
  if (!load) throw new ElfError('corrupt ELF header: DT_STRTAB outside every loadable segment');
  if (strsz > 16 << 20) throw new ElfError('corrupt ELF header: string table too large');
  const strtab = read(
    strtabAddr - load.vaddr + load.offset,
    Math.min(strsz, fileSize - (strtabAddr - load.vaddr + load.offset)),
  );
  const str = (off: number) => {
    if (off >= strtab.length) throw new ElfError('corrupt ELF header: string offset past the string table');
    return cString(strtab, off);
  };
  for (const [tag, val] of entries) {
    if (tag === DT_NEEDED) info.needed.push(str(val));
    else if (tag === DT_RUNPATH) info.runpath.push(...str(val).split(':').filter(Boolean));
    else if (tag === DT_RPATH) info.rpath.push(...str(val).split(':').filter(Boolean));
    else if (tag === DT_SONAME) info.soname = str(val);
  }
  return info;
}

function addrSigned(b: Buffer, o: number, le: boolean): number {
  const v = le ? b.readBigInt64LE(o) : b.readBigInt64BE(o);
  return v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? -1 : Number(v);
}

function cString(b: Buffer, offset: number): string {
  const end = b.indexOf(0, offset);
  return b.toString('utf8', offset, end === -1 ? b.length : end);
}
