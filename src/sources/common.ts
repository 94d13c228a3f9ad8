/**
 * Small helpers the FROM sources share: errors at the FROM line, local-or-URL inputs, per-source index files
 * under the cache dir (written by temp name + rename), hashing files, running a tool and collecting its output.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error, type SourceLocation } from '../diagnostics/diagnostic.js';
import { hashFileSync } from '../fsutil/hash.js';
import type { BlobStore } from '../image/blobstore.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../image/config.js';
import { imageArchitecture } from '../image/config.js';
import { type Layer, MEDIA_TYPES } from '../image/layer.js';
import { detectCompression } from '../tar/compress.js';
import type { SourceContext } from './source.js';

export function fail(code: string, message: string, location?: SourceLocation): DiagnosticError {
  return new DiagnosticError(error(code, message, location));
}

export const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, JSON.stringify(value));
  renameSync(temp, file);
}

/** Absolute path of a local input (relative to the build context), checked to exist with the given kind. */
export function localPath(
  p: string,
  ctx: SourceContext,
  kind: 'file' | 'directory',
  code: string,
  what: string,
): string {
  const abs = path.resolve(ctx.baseDir ?? process.cwd(), p);
  let ok = false;
  try {
    const st = statSync(abs);
    ok = kind === 'file' ? st.isFile() : st.isDirectory();
  } catch (e) {
    throw fail(
      code,
      `cannot read ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      ctx.location,
    );
  }
  if (!ok)
    throw fail(code, `${what} ${p} is not a ${kind === 'file' ? 'regular file' : 'directory'}`, ctx.location);
  return abs;
}

export async function hashFile(file: string, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<string> {
  return hashFileSync(file, algorithm);
}

/** A stored blob's layer media type, from its first bytes (base layers are kept byte for byte). */
export function storedLayerMediaType(store: BlobStore, digest: string): string {
  const fd = openSync(store.path(digest), 'r');
  try {
    const head = Buffer.alloc(6);
    const n = readSync(fd, head, 0, 6, 0);
    return mediaTypeFromHead(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** The OCI media type for a layer blob whose first bytes are `head`. */
export function mediaTypeFromHead(head: Buffer): string {
  switch (detectCompression(head)) {
    case 'gzip':
      return MEDIA_TYPES.layer.gzip;
    case 'zstd':
      return MEDIA_TYPES.layer.zstd;
    case 'none':
      return MEDIA_TYPES.layer.none;
    default:
      // bzip2/xz layers exist in no spec; keep the bytes and let extraction (by magic bytes) cope.
      return MEDIA_TYPES.layer.none;
  }
}

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with no stdin and collects its output (small outputs only: gpgv, debootstrap's log tail). */
export function runTool(
  bin: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; maxOutput?: number } = {},
): Promise<ToolResult> {
  const max = options.maxOutput ?? 1 << 20;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    // Keep the tail: a long log's end says why it failed.
    const keep = (acc: string, chunk: Buffer) => {
      const s = acc + chunk.toString('utf8');
      return s.length > max ? s.slice(s.length - max) : s;
    };
    child.stdout.on('data', (c: Buffer) => {
      stdout = keep(stdout, c);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr = keep(stderr, c);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Finds an executable in PATH (plus the sbin dirs, which a non-login root PATH may lack). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    try {
      const st = statSync(p);
      if (st.isFile() && (st.mode & 0o111) !== 0) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const CONTAINER_FIELDS: (keyof ContainerConfig)[] = [
  'User',
  'ExposedPorts',
  'Env',
  'Entrypoint',
  'Cmd',
  'Volumes',
  'WorkingDir',
  'Labels',
  'StopSignal',
  'Healthcheck',
  'Shell',
  'OnBuild',
  'ArgsEscaped',
];

/**
 * An existing image's config JSON (Docker's or OCI's) as our ImageConfig: the fields the image spec and Docker
 * define are kept as they are (null values dropped); diff_ids and history preserved. When the base has no history
 * (or history that does not match its layers), one entry per layer is made so later layers' entries line up.
 */
export function importConfig(raw: unknown, layers: readonly Layer[], createdBy: string): ImageConfig {
  const c = (raw ?? {}) as Record<string, unknown>;
  const cc = (c.config ?? {}) as Record<string, unknown>;
  const config: ContainerConfig = {};
  for (const k of CONTAINER_FIELDS) {
    const v = cc[k];
    if (v !== null && v !== undefined) (config as Record<string, unknown>)[k] = v;
  }
  const rootfs = (c.rootfs ?? {}) as { diff_ids?: unknown };
  const diffIds = Array.isArray(rootfs.diff_ids) ? (rootfs.diff_ids as string[]) : [];
  const rawHistory = Array.isArray(c.history) ? (c.history as HistoryEntry[]) : [];
  const nonEmpty = rawHistory.filter((h) => !h.empty_layer).length;
  const history: HistoryEntry[] =
    nonEmpty === layers.length
      ? rawHistory.map((h) => {
          const e: HistoryEntry = {};
          if (typeof h.created === 'string') e.created = h.created;
          if (typeof h.created_by === 'string') e.created_by = h.created_by;
          if (typeof h.author === 'string') e.author = h.author;
          if (typeof h.comment === 'string') e.comment = h.comment;
          if (h.empty_layer) e.empty_layer = true;
          return e;
        })
      : layers.map(() => ({ created_by: createdBy }));
  const arch = imageArchitecture();
  const out: ImageConfig = {
    architecture: typeof c.architecture === 'string' ? c.architecture : arch.architecture,
    os: typeof c.os === 'string' ? c.os : 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history,
  };
  if (typeof c.variant === 'string') out.variant = c.variant;
  if (typeof c.created === 'string') out.created = c.created;
  if (typeof c.author === 'string') out.author = c.author;
  return out;
}
