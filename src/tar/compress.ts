import { spawn } from 'node:child_process';
import { Duplex, PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';

/**
 * Compression by magic bytes, never by file name. gzip through Node's zlib; bzip2, xz and zstd through
 * their command-line tools (packages bzip2, xz-utils, zstd): Node 20's zlib has none of them, the
 * streaming npm ports are either unmaintained (lzma-native) or WASM at a fraction of native speed, and
 * the tools decompress a 200 MB stage3 at native speed (xz even in parallel) with one process per stream.
 */
export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
    return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

const TOOL: Record<Exclude<Compression, 'gzip' | 'none'>, { bin: string; pkg: string }> = {
  bzip2: { bin: 'bzip2', pkg: 'bzip2' },
  xz: { bin: 'xz', pkg: 'xz-utils' },
  zstd: { bin: 'zstd', pkg: 'zstd' },
};

/** Reads the first bytes of `input` to detect its compression; returns the decompressed stream. */
export async function decompressStream(
  input: Readable,
): Promise<{ compression: Compression; stream: Readable }> {
  const head = await peek(input, 6);
  const compression = detectCompression(head.bytes);
  const source = head.stream;
  switch (compression) {
    case 'none':
      return { compression, stream: source };
    case 'gzip': {
      const gunzip = zlib.createGunzip();
      source.on('error', (e) => gunzip.destroy(e));
      gunzip.on('close', () => source.destroy());
      return { compression, stream: source.pipe(gunzip) };
    }
    default:
      return {
        compression,
        stream: throughTool(source, TOOL[compression].bin, ['-d', '-c'], TOOL[compression].pkg),
      };
  }
}

export interface CompressOptions {
  /** gzip 1–9 (default 6), zstd 1–19 (default 3), xz 0–9 (default 6), bzip2 1–9 (default 9). */
  level?: number;
}

/**
 * A compressing transform whose output depends only on the input: gzip with mtime 0, no name and the OS
 * byte set to 255 ("unknown", as Go's compress/gzip writes: the zlib OS code differs per build platform);
 * zstd/xz/bzip2 single-threaded through the tools.
 */
export function compressStream(compression: Compression, options: CompressOptions = {}): Duplex {
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip': {
      const gzip = zlib.createGzip({ level: options.level ?? 6 });
      let first = true;
      const fixHeader = new Transform({
        transform(chunk: Buffer, _enc, cb: TransformCallback) {
          if (first && chunk.length >= 10) {
            first = false;
            const c = Buffer.from(chunk);
            c[9] = 0xff;
            cb(null, c);
            return;
          }
          cb(null, chunk);
        },
      });
      // zlib emits the whole 10-byte header in its first chunk.
      return chainTransforms(gzip, fixHeader);
    }
    case 'zstd':
      return toolTransform('zstd', ['-q', '-c', `-${options.level ?? 3}`, '-T1', '--no-progress'], 'zstd');
    case 'xz':
      return toolTransform('xz', ['-z', '-c', `-${options.level ?? 6}`, '-T1'], 'xz-utils');
    case 'bzip2':
      return toolTransform('bzip2', ['-z', '-c', `-${options.level ?? 9}`], 'bzip2');
  }
}

/** Looks at the first `n` bytes without consuming them. */
async function peek(input: Readable, n: number): Promise<{ bytes: Buffer; stream: Readable }> {
  const out = new PassThrough({ highWaterMark: 1 << 16 });
  const chunks: Buffer[] = [];
  let got = 0;
  const it = input[Symbol.asyncIterator]();
  while (got < n) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    chunks.push(b);
    got += b.length;
  }
  const headBytes = Buffer.concat(chunks);
  (async () => {
    try {
      if (headBytes.length > 0 && !out.write(headBytes)) await onceDrain(out);
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        if (!out.write(r.value)) await onceDrain(out);
      }
      out.end();
    } catch (e) {
      out.destroy(e as Error);
      input.destroy();
    }
  })();
  out.on('close', () => {
    if (!out.writableFinished) input.destroy();
  });
  return { bytes: headBytes, stream: out };
}

function onceDrain(s: PassThrough): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      s.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      s.off('drain', onDrain);
      reject(new Error('stream closed'));
    };
    s.once('drain', onDrain);
    s.once('close', onClose);
  });
}

function missingTool(bin: string, pkg: string): DiagnosticError {
  return new DiagnosticError(
    error(
      'tar/missing-tool',
      `cannot run "${bin}" (install the Debian package ${pkg}) to handle ${bin} data`,
    ),
  );
}

/** Runs `bin args` with `source` on stdin; its stdout is the result; a failure errors the result. */
function throughTool(source: Readable, bin: string, args: string[], pkg: string): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 16 });
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  child.on('error', (e: NodeJS.ErrnoException) =>
    out.destroy(e.code === 'ENOENT' ? missingTool(bin, pkg) : e),
  );
  source.on('error', (e) => {
    child.kill();
    out.destroy(e);
  });
  child.stdin.on('error', () => {
    // EPIPE when the tool stops early; its exit status tells what happened
  });
  source.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdout.on('end', async () => {
    const code = await exited;
    if (code === 0) out.end();
    else out.destroy(new Error(`${bin} failed (exit ${code}): ${stderr.trim() || 'corrupt input?'}`));
  });
  out.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return out;
}

function toolTransform(bin: string, args: string[], pkg: string): Duplex {
  const input = new PassThrough();
  return Duplex.from({ writable: input, readable: throughTool(input, bin, args, pkg) });
}

/** Presents `first` → `second` as one duplex (writes go to `first`, reads come from `second`). */
function chainTransforms(first: Transform | PassThrough, second: Readable): Duplex {
  first.pipe(second as unknown as PassThrough);
  const d = Duplex.from({ writable: first, readable: second });
  first.on('error', (e) => d.destroy(e));
  return d;
}
