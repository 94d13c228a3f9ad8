/**
 * The layer thread's entry point (bundled as dist/bundle/layer-worker.js): makes the layers the main thread
 * sends, one message per job, and replies with the stored layer or the error. See layers.ts.
 */
import { parentPort } from 'node:worker_threads';
import { BlobStore } from '../image/blobstore.js';
import { type LayerJob, type LayerReply, makeLayer } from './layers.js';

const stores = new Map<string, BlobStore>();

parentPort?.on('message', (job: LayerJob) => {
  let store = stores.get(job.storeDir);
  if (!store) {
    store = new BlobStore(job.storeDir);
    stores.set(job.storeDir, store);
  }
  makeLayer(store, job.source, job.options).then(
    (layer) => parentPort?.postMessage({ id: job.id, layer: layer ?? null } satisfies LayerReply),
    (err: Error & { code?: string }) =>
      parentPort?.postMessage({
        id: job.id,
        error: { message: err.message, ...(err.code ? { code: err.code } : {}) },
      } satisfies LayerReply),
  );
});
