/**
 * The build cache: `$XDG_CACHE_HOME/rootc` (default `~/.cache/rootc`).
 *
 *   blobs/sha256/<hex>        content-addressed layers and configs (image/blobstore)
 *   steps/<key>.json          one record per executed step: the layer it produced (or none)
 *   last/<slot>.json          per Rootfile step slot, the inputs of its last build, to explain misses
 *   snapshots/<key>/          committed snapshot dirs (snapshot drivers), immutable once renamed
 *   downloads/                URL downloads by URL and digest
 *   tmp/                      work in progress; anything here older than a build is garbage
 *
 * Every entry is written to a temporary name in the same directory and renamed into place, so a killed
 * build never leaves half an entry and two builds can share the cache (the last rename wins, and both
 * wrote the same content since the key determines it).
 */
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../fsutil/process.js';

export interface CachedLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

export interface StepRecord {
  version: 1;
  key: string;
  /** The layer the step produced; absent when it changed no file. */
  layer?: CachedLayer;
  /** Extra facts a step learns while running that later steps or outputs need (e.g. recorded device nodes). */
  meta?: Record<string, unknown>;
}

/** What went into a step's key, kept per Rootfile slot so a miss can be explained. */
export interface KeyInputs {
  parentKey: string;
  stepDigest: string;
  inputs: Record<string, string>;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ROOTC_CACHE_DIR) return path.resolve(env.ROOTC_CACHE_DIR);
  const base =
    env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)
      ? env.XDG_CACHE_HOME
      : path.join(os.homedir(), '.cache');
  return path.join(base, 'rootc');
}

export class BuildCache {
  readonly dir: string;

  constructor(dir: string = defaultCacheDir()) {
    this.dir = path.resolve(dir);
    for (const sub of ['blobs/sha256', 'steps', 'last', 'snapshots', 'downloads', 'tmp']) {
      mkdirSync(path.join(this.dir, sub), { recursive: true });
    }
  }

  get blobsDir(): string {
    return path.join(this.dir, 'blobs');
  }
  get snapshotsDir(): string {
    return path.join(this.dir, 'snapshots');
  }
  get downloadsDir(): string {
    return path.join(this.dir, 'downloads');
  }
  get tmpDir(): string {
    return path.join(this.dir, 'tmp');
  }

  /** A fresh private directory under tmp/ for one build's work in progress. */
  makeTempDir(prefix: string): string {
    const dir = path.join(this.tmpDir, `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  getStep(key: string): StepRecord | undefined {
    const file = path.join(this.dir, 'steps', `${key}.json`);
    try {
      const record = JSON.parse(readFileSync(file, 'utf8')) as StepRecord;
      if (record.version !== 1 || record.key !== key) return undefined;
      touch(file);
      return record;
    } catch {
      return undefined;
    }
  }

  putStep(record: StepRecord): void {
    atomicWrite(path.join(this.dir, 'steps', `${record.key}.json`), `${JSON.stringify(record)}\n`);
  }

  lastInputs(slot: string): KeyInputs | undefined {
    try {
      return JSON.parse(readFileSync(path.join(this.dir, 'last', `${slot}.json`), 'utf8')) as KeyInputs;
    } catch {
      return undefined;
    }
  }

  recordInputs(slot: string, inputs: KeyInputs): void {
    atomicWrite(path.join(this.dir, 'last', `${slot}.json`), `${JSON.stringify(inputs)}\n`);
  }

  /** Removes work-in-progress dirs left by builds that died (their pid is gone). */
  sweepTemp(): void {
    for (const name of safeReaddir(this.tmpDir)) {
      const pid = Number(name.split('-').at(-2));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
        rmSync(path.join(this.tmpDir, name), { recursive: true, force: true });
      }
    }
  }

  /** Entries with their size and last use, for `rootc cache ls` and `prune`. */
  listSteps(): { key: string; lastUsed: Date; layerSize: number }[] {
    const out = [];
    for (const name of safeReaddir(path.join(this.dir, 'steps'))) {
      if (!name.endsWith('.json')) continue;
      const file = path.join(this.dir, 'steps', name);
      try {
        const record = JSON.parse(readFileSync(file, 'utf8')) as StepRecord;
        out.push({ key: record.key, lastUsed: statSync(file).mtime, layerSize: record.layer?.size ?? 0 });
      } catch {
        // A foreign or damaged file: ignored here, removed by prune.
      }
    }
    return out;
  }
}

export function atomicWrite(file: string, data: string | Buffer, mode = 0o644): void {
  // A small record rewritten with what it already holds (every step of a no-change rebuild): leave it.
  if (data.length <= 1 << 16) {
    try {
      if (readFileSync(file).equals(Buffer.from(data))) return;
    } catch {
      // missing (or unreadable): write it
    }
  }
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, data, { mode });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function touch(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // Read-only cache: lookups still work, LRU order just is not updated.
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
