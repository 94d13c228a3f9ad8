/**
 * Making a step's layer from its committed snapshot: the diff dir walked (`diffDirEntries`), tarred, hashed
 * and written into the blob store. It runs on a worker thread (`layer-worker.ts`) so that the main thread goes
 * on with the next step meanwhile: on the main thread, its synchronous reads and writes held up the next
 * step's mounts and processes (measured: no overlap at all). Where the worker script is missing (the sources
 * run by vitest, not the build), or the worker dies, jobs run on this thread instead, with the same result.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { BlobStore } from '../image/blobstore.js';
import { type Layer, type LayerCompression, storeLayer } from '../image/layer.js';
import { diffDirEntries } from '../snapshot/diffdir.js';
import type { DiffSource } from '../snapshot/types.js';

export interface LayerOptions {
  compression: LayerCompression;
  /** SOURCE_DATE_EPOCH: the clamp of every mtime in the layer. */
  clampMtime: number;
}

export interface LayerJob {
  id: number;
  storeDir: string;
  source: DiffSource;
  options: LayerOptions;
}

export type LayerReply =
  | { id: number; layer: Layer | null }
  | { id: number; error: { message: string; code?: string } };

class EmptyDiff extends Error {}

/** Passes entries through, failing with EmptyDiff when there are none (so no empty layer is stored). */
async function* nonEmpty<T>(entries: AsyncIterable<T>): AsyncGenerator<T> {
  let any = false;
  for await (const e of entries) {
    any = true;
    yield e;
  }
  if (!any) throw new EmptyDiff();
}

/** The layer of a committed snapshot, stored; undefined when the step changed nothing. */
export async function makeLayer(
  store: BlobStore,
  source: DiffSource,
  options: LayerOptions,
): Promise<Layer | undefined> {
  try {
    return await storeLayer(store, nonEmpty(diffDirEntries(source.upper, source)), {
      compression: options.compression,
      clampMtime: options.clampMtime,
    });
  } catch (err) {
    if (err instanceof EmptyDiff) return undefined;
    throw err;
  }
}

const WORKER_SCRIPT = new URL('./layer-worker.js', import.meta.url);

/**
 * Makes layers on one worker thread, started ahead of the first job (`start`, ~60 ms that overlap the
 * bases' resolution). The worker holds the process open only while a job is in flight. Callers order the
 * jobs (one at a time: see LayerQueue); this class only carries them.
 */
export class LayerMaker {
  private worker: Worker | undefined;
  private starting: Promise<Worker | undefined> | undefined;
  private readonly waiting = new Map<
    number,
    { resolve: (l: Layer | undefined) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private stopping: Promise<unknown> | undefined;

  constructor(private readonly store: BlobStore) {}

  /** Starts the worker (once); jobs made before it is up wait for it. */
  start(): void {
    this.starting ??= this.spawn();
  }

  private async spawn(): Promise<Worker | undefined> {
    if (process.env.ROOTC_LAYER_THREAD === '0' || !existsSync(fileURLToPath(WORKER_SCRIPT))) return undefined;
    const { Worker } = await import('node:worker_threads');
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SCRIPT);
    } catch {
      return undefined; // no threads here (resource limits): layers are made on this thread
    }
    worker.on('message', (reply: LayerReply) => this.settle(reply));
    const lost = (err: Error) => {
      // The thread is gone: fail what it had, make later layers here.
      this.worker = undefined;
      this.starting = Promise.resolve(undefined);
      for (const [id, w] of this.waiting) {
        this.waiting.delete(id);
        w.reject(err);
      }
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      if (this.worker === worker) lost(new Error(`the layer thread exited (${code})`));
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private settle(reply: LayerReply): void {
    const w = this.waiting.get(reply.id);
    if (!w) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker?.unref();
    if ('error' in reply) w.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    else w.resolve(reply.layer ?? undefined);
  }

  async make(source: DiffSource, options: LayerOptions): Promise<Layer | undefined> {
    this.start();
    const worker = await this.starting;
    // No thread, or it died while we waited: make the layer here.
    if (!worker || this.worker !== worker) return makeLayer(this.store, source, options);
    const id = this.nextId++;
    const job: LayerJob = { id, storeDir: this.store.dir, source, options };
    return new Promise<Layer | undefined>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage(job);
    });
  }

  /** Stops the thread (its heap is freed); later layers are made on this thread. Safe to call again. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.starting = Promise.resolve(undefined);
    if (worker) this.stopping = worker.terminate();
    await this.stopping;
  }
}
