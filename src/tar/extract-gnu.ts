import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { singleIdMapping } from '../fsutil/owner.js';
import { isHostOnlyXattr, NODE_PLACEHOLDER_XATTR } from '../fsutil/xattr.js';
import { inUserNamespace } from '../sandbox/namespace.js';
import { type TarEntrySpec, WHITEOUT_PREFIX } from './entry.js';
import { applyEntries, type ExtractOptions, type ExtractReport, skippedNode } from './extract.js';
import { BLOCK, decodeBlock, isZeroBlock, PendingExtensions, padding, type RawHeader } from './header.js';
import { normalizeMembers } from './normalize.js';
import { memberToSpec, readTar, type TarMember } from './reader.js';
import { batchChunks, type TarTap, tarChunks } from './writer.js';

/**
 * Extracts one layer into an EMPTY directory (the bottom layer of a base being materialized) with GNU tar,
 * several times faster than `applyEntries` on a tree of thousands of files (W1's 200 MB base: 0.5 s against
 * 2.5 s), which spends its time in per-entry system calls made one by one from JavaScript.
 *
 * GNU tar is not trusted with the raw layer: the members go through `normalizeMembers` first, which makes a
 * stream that cannot write outside the directory when extracted into an empty one (names cleaned, a path
 * through a symlink of the archive rewritten to where the symlink points inside the root, dangling
 * hardlinks dropped), so tar never follows a symlink. Whiteouts mean nothing in a bottom layer and are
 * dropped; host-only xattrs (overlayfs's own, SELinux labels) are dropped; device nodes the process cannot
 * make (a user namespace) become the same marked placeholders `applyEntries` makes. Should tar still
 * refuse something (an entry kind it treats differently, an id not mapped in a user namespace), the
 * directory is emptied and the layer extracted again by `applyEntries`, whose diagnostics then apply.
 */
export async function extractIntoEmpty(
  open: () => Promise<AsyncIterable<Buffer> | Readable>,
  root: string,
  options: Omit<ExtractOptions, 'whiteouts'> & {
    /** The layer as an uncompressed tar file, when it is one: then it may be handed to tar as it is. */
    file?: string;
  } = {},
): Promise<ExtractReport> {
  const absRoot = path.resolve(root);
  mkdirSync(absRoot, { recursive: true });
  // A single-id user namespace (no subordinate ids): tar's chowns would fail; applyEntries records owners.
  if (
    readdirSync(absRoot).length > 0 ||
    options.sameOwner === false ||
    options.xattrs === false ||
    singleIdMapping()
  ) {
    return applyEntries(specsOf(await open()), absRoot, { ...options, whiteouts: 'apply' });
  }
  const report: ExtractReport = { entries: 0, bytes: 0, skippedNodes: [], skippedXattrs: [], warnings: [] };
  const mknodDevices = (options.mknod ?? true) && !inUserNamespace();
  const mknodFifos = options.mknod ?? true;

  // A layer already in normal form (what rootc writes) needs no rewriting: tar reads the file itself. Checking
  // that costs one positioned read per header, never the content.
  if (options.file) {
    const scan = await scanNormalized(options.file, { devices: mknodDevices, fifos: mknodFifos });
    if (scan) {
      const code = await runTar(['--file', options.file], absRoot, () => Promise.resolve());
      if (code.ok) return { ...report, entries: scan.entries, bytes: scan.bytes };
      if (process.env.ROOTC_DEBUG) process.stderr.write(`rootc: GNU tar extraction failed: ${code.stderr}\n`);
      emptyDir(absRoot);
    }
  }

  async function* prepared(): AsyncGenerator<TarEntrySpec> {
    const members = readTar((await open()) as AsyncIterable<Buffer>);
    for await (const spec of normalizeMembers(members, {
      onWarning: (m) => report.warnings.push(m),
    })) {
      report.entries++;
      if (spec.xattrs) {
        const kept = Object.entries(spec.xattrs).filter(([name]) => !isHostOnlyXattr(name));
        if (kept.length > 0) spec.xattrs = Object.fromEntries(kept);
        else delete spec.xattrs;
      }
      if (spec.type === 'char' || spec.type === 'block' || spec.type === 'fifo') {
        const canMake = spec.type === 'fifo' ? mknodFifos : mknodDevices;
        if (!canMake) {
          const major = spec.devmajor ?? 0;
          const minor = spec.devminor ?? 0;
          report.skippedNodes.push(skippedNode(`/${spec.path}`, spec));
          if (!options.nodePlaceholders) continue;
          yield {
            path: spec.path,
            type: 'file',
            mode: spec.mode & 0o7777,
            uid: spec.uid,
            gid: spec.gid,
            mtime: spec.mtime,
            size: 0,
            xattrs: { [NODE_PLACEHOLDER_XATTR]: Buffer.from(`${spec.type}:${major}:${minor}`) },
          };
          continue;
        }
      }
      if (spec.type === 'file') report.bytes += spec.size ?? 0;
      yield spec;
    }
  }

  const piped = await runTar(['--file=-'], absRoot, (stdin) =>
    pipeline(Readable.from(batchChunks(tarChunks(prepared()))), stdin),
  );
  if (piped.ok) return report;
  // A reading or format error of the layer itself is reported as applyEntries reports it (same input, same error).
  if (process.env.ROOTC_DEBUG) process.stderr.write(`rootc: GNU tar extraction fell back: ${piped.stderr}\n`);
  emptyDir(absRoot);
  return applyEntries(specsOf(await open()), absRoot, { ...options, whiteouts: 'apply' });
}

/**
 * GNU tar extracting a layer into an empty directory while the layer is being written, as a TarTap: a base
 * tarball's conversion feeds it the normalized layer's bytes, so the base tree is ready when the layer is
 * (W1: the 0.5 s extraction after a 1 s conversion overlaps it instead). The bytes are the layer's, so tar
 * gets exactly what `extractIntoEmpty` would hand it as a file; a layer it would not hand over as it is (a
 * host-only xattr, a node this process cannot make, a whiteout) spoils the extraction instead, and so does
 * any failure of tar's. `done` then gives undefined and the caller extracts the stored layer as usual.
 * The directory is the caller's to remove when the result is not used.
 */
export class ExtractWhileWritten implements TarTap {
  /** The diff_id of the layer extracted, once tar has finished with all of it; undefined if spoiled. */
  readonly done: Promise<string | undefined>;
  private readonly stdin: NodeJS.WritableStream & {
    cork(): void;
    uncork(): void;
    writableNeedDrain: boolean;
  };
  private readonly kill: () => void;
  private readonly finish: (diffId: string | undefined) => void;
  private spoiled = false;
  private ended = false;
  private corked = 0;
  private readonly can = { devices: !inUserNamespace(), fifos: true };

  constructor(root: string) {
    let stdin: NodeJS.WritableStream | undefined;
    let finish!: (diffId: string | undefined) => void;
    const fed = new Promise<string | undefined>((resolve) => {
      finish = resolve;
    });
    this.finish = finish;
    let killTar = () => {};
    // runTar calls feed before its first await, so stdin and killTar are set when it returns.
    const run = runTar(['--file=-'], root, async (s, kill) => {
      stdin = s;
      killTar = kill;
      return fed.then((diffId) => {
        if (diffId === undefined) throw new Error('extraction spoiled');
      });
    });
    this.stdin = stdin as unknown as ExtractWhileWritten['stdin'];
    this.kill = () => killTar();
    this.stdin.on('error', () => this.spoil()); // EPIPE: tar gave up; its exit status says the rest
    this.done = Promise.all([run, fed]).then(([r, diffId]) => {
      if (!r.ok && process.env.ROOTC_DEBUG)
        process.stderr.write(`rootc: GNU tar extraction while converting failed: ${r.stderr}\n`);
      return r.ok && !this.spoiled ? diffId : undefined;
    });
  }

  entry(spec: TarEntrySpec): void {
    if (this.spoiled) return;
    if (!tarTakesAsIs(spec, this.can) || path.posix.basename(spec.path).startsWith(WHITEOUT_PREFIX))
      this.spoil();
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.spoiled || this.ended) return undefined;
    // Corked, a run of small chunks (headers, small files) goes to the pipe as one writev.
    if (this.corked === 0) this.stdin.cork();
    this.corked += chunk.length;
    this.stdin.write(chunk);
    if (this.corked < PIPE_BATCH) return undefined;
    this.corked = 0;
    this.stdin.uncork();
    if (!this.stdin.writableNeedDrain) return undefined;
    return new Promise((resolve) => {
      const go = () => {
        this.stdin.off('drain', go);
        this.stdin.off('close', go);
        resolve();
      };
      this.stdin.on('drain', go);
      this.stdin.on('close', go);
    });
  }

  end(diffId: string | undefined): void {
    if (this.ended) return;
    this.ended = true;
    if (this.corked > 0) this.stdin.uncork();
    this.corked = 0;
    if (diffId === undefined) this.spoil();
    this.finish(this.spoiled ? undefined : diffId);
  }

  /** Stops the extraction for good (the layer may still be written); `done` gives undefined. */
  spoil(): void {
    if (this.spoiled) return;
    this.spoiled = true;
    this.kill();
    this.finish(undefined);
  }
}

const PIPE_BATCH = 256 * 1024;

/**
 * Whether GNU tar, given this (normalized) entry's bytes as they are, makes what `applyEntries` would: no
 * host-only xattr to drop, no device node or fifo this process cannot make (those become placeholders).
 */
function tarTakesAsIs(spec: TarEntrySpec, can: { devices: boolean; fifos: boolean }): boolean {
  if (spec.xattrs && Object.keys(spec.xattrs).some(isHostOnlyXattr)) return false;
  if ((spec.type === 'char' || spec.type === 'block') && !can.devices) return false;
  return spec.type !== 'fifo' || can.fifos;
}

function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { recursive: true, force: true });
}

/** Runs `tar --extract` into `dir`; `feed` writes its stdin (or resolves at once when tar reads a file). */
async function runTar(
  input: string[],
  dir: string,
  feed: (stdin: NodeJS.WritableStream, kill: () => void) => Promise<void>,
): Promise<{ ok: boolean; stderr: string }> {
  const tar = spawn(
    'tar',
    [
      '--extract',
      ...input,
      `--directory=${dir}`,
      '--numeric-owner',
      '--same-owner',
      '--preserve-permissions',
      '--xattrs',
      '--xattrs-include=*',
      '--delay-directory-restore',
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const exited = new Promise<number>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code) => resolve(code ?? 1));
  });
  let failure: unknown;
  try {
    await feed(tar.stdin, () => tar.kill());
  } catch (e) {
    failure = e;
    tar.kill();
  } finally {
    tar.stdin.end();
  }
  const code = await exited.catch(() => 1);
  return {
    ok: failure === undefined && code === 0,
    stderr: stderr.trim() || String(failure ?? `exit ${code}`),
  };
}

/**
 * Whether the uncompressed tar `file` is already what `prepared()` would make of it — every member a plain
 * entry (no whiteout, sparse file, volume or other kind tar and rootc read differently), its name and link
 * target unchanged by `normalizeMembers`, no host-only xattr, no node this process cannot make — with its
 * entry count and content bytes; undefined when any member is not. Reads headers only, by position.
 */
export async function scanNormalized(
  file: string,
  can: { devices: boolean; fifos: boolean },
): Promise<{ entries: number; bytes: number } | undefined> {
  const fd = openSync(file, 'r');
  let members = 0;
  let bytes = 0;
  let clean = true;
  const originals: RawHeader[] = [];
  function* headers(): Generator<TarMember> {
    const block = Buffer.allocUnsafe(BLOCK);
    let pos = 0;
    const extensions = new PendingExtensions();
    const readAt = (buf: Buffer, at: number): void => {
      if (readSync(fd, buf, 0, buf.length, at) !== buf.length)
        throw new Error('unexpected end of tar archive');
    };
    for (;;) {
      readAt(block, pos);
      pos += BLOCK;
      if (isZeroBlock(block)) return;
      const kind = decodeBlock(block);
      if (kind.kind === 'pax' || kind.kind === 'gnu-longname' || kind.kind === 'gnu-longlink') {
        // A global PAX header applies to every later member: tar and rootc would have to agree on it.
        if (kind.kind === 'pax' && kind.global) clean = false;
        const data = Buffer.allocUnsafe(kind.size);
        readAt(data, pos);
        pos += kind.size + padding(kind.size);
        extensions.add(kind.kind, kind.kind === 'pax' && kind.global, data);
        continue;
      }
      if (kind.kind === 'skip') {
        clean = false;
        return;
      }
      for (const [key, value] of extensions.pax ?? []) {
        const known =
          ['path', 'linkpath', 'size', 'uid', 'gid'].includes(key) || key.startsWith('SCHILY.xattr.');
        if (!known && !(key === 'mtime' && /^\d+$/.test(value.toString('latin1')))) clean = false;
      }
      const header = extensions.apply(kind.header);
      const size = header.type === 'file' ? header.size : kind.header.size;
      pos += size + padding(size);
      members++;
      if (header.type === 'file') bytes += header.size;
      originals.push({ ...header });
      yield { header, body: async function* () {} };
    }
  }
  try {
    async function* members$(): AsyncGenerator<TarMember> {
      yield* headers();
    }
    let i = 0;
    for await (const spec of normalizeMembers(members$(), { onWarning: () => (clean = false) })) {
      const o = originals[i++];
      if (!clean || !o) return undefined;
      // The raw names, not cleaned ones: tar itself must read them as the same paths.
      if (spec.path !== o.name.replace(/\/+$/, '')) return undefined;
      if (spec.type === 'hardlink' && spec.linkname !== o.linkname) return undefined;
      if (!tarTakesAsIs(spec, can)) return undefined;
      originals[i - 1] = undefined as unknown as RawHeader; // keep memory flat
    }
    if (!clean || i !== members) return undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
  return { entries: members, bytes };
}

async function* specsOf(input: AsyncIterable<Buffer> | Readable): AsyncGenerator<TarEntrySpec> {
  for await (const m of readTar(input as AsyncIterable<Buffer>)) yield memberToSpec(m);
}
