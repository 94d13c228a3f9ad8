/**
 * Layers made behind the build. A step that ran is committed first (an immutable snapshot) and the build
 * goes on to the next step while the step's layer (the committed snapshot's diff, tarred and hashed into the
 * blob store) is made: BuildKit likewise computes blobs from immutable snapshots when an exporter needs them
 * (cache/blobs.go, computeBlobChain), not while the solver waits. Jobs run one at a time in step order, so the
 * cache records they write appear in order and two layers never fight for the same disk and core.
 */
import { appendHistory, appendLayer, type HistoryInput, type Image } from '../image/image.js';
import type { Layer } from '../image/layer.js';

/** One job at a time, in the order added; a failed job does not stop the next. */
export class LayerQueue {
  private tail: Promise<unknown> = Promise.resolve();

  add<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(job);
    this.tail = run.catch(() => {});
    return run;
  }

  /** Resolves when every job added so far has ended, whether it succeeded or not. */
  async settled(): Promise<void> {
    await this.tail;
  }
}

/**
 * A stage's image while some of its layers are still being made. Config changes (ENV, WORKDIR, …) apply at
 * once, since RUN and COPY read the config; layer and history entries are kept in step order and appended
 * when `resolve` is awaited. Both orders give the same image: config changes and history/layer appends touch
 * disjoint fields.
 */
export class PendingImage {
  private pending: { history: HistoryInput; layer?: Promise<Layer | undefined> }[] = [];
  private failure: { err: unknown } | undefined;

  constructor(private current: Image) {}

  /** The image with every config change so far; its layers and history may lag behind until `resolve`. */
  peek(): Image {
    return this.current;
  }

  /** Applies a config change (a pure function of the image that keeps its layers and history). */
  change(f: (image: Image) => Image): void {
    this.current = f(this.current);
  }

  appendHistory(history: HistoryInput): void {
    if (this.pending.length > 0) this.pending.push({ history });
    else this.current = appendHistory(this.current, history);
  }

  appendLayer(layer: Layer | undefined, history: HistoryInput): void {
    if (this.pending.length > 0) this.pending.push({ history, layer: Promise.resolve(layer) });
    else
      this.current = layer ? appendLayer(this.current, layer, history) : appendHistory(this.current, history);
  }

  /** A layer still being made (undefined when the step changed nothing). */
  appendPending(layer: Promise<Layer | undefined>, history: HistoryInput): void {
    layer.catch((err: unknown) => {
      this.failure ??= { err };
    });
    this.pending.push({ history, layer });
  }

  /** Throws the error of the first layer that failed so far (so the build stops at the next step). */
  throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }

  /** The whole image, once every pending layer is made; rejects with the first layer that failed. */
  async resolve(): Promise<Image> {
    while (this.pending.length > 0) {
      const { history, layer } = this.pending[0]!;
      const made = await layer;
      this.current = made ? appendLayer(this.current, made, history) : appendHistory(this.current, history);
      this.pending.shift();
    }
    return this.current;
  }
}
