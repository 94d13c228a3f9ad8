/**
 * The interpreter: executes an IR stage by stage, step by step, each step either found in the cache (its
 * layer reused, nothing run) or executed on a snapshot of the rootfs and committed. It knows nothing of the
 * syntax. Keys follow DESIGN.md: hash(parent key, canonical step, digests of the step's inputs).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { FileDigestCache } from '../cache/digests.js';
import { atomicWrite, BuildCache, type KeyInputs } from '../cache/store.js';
import { BuildContext } from '../context/context.js';
import {
  type Diagnostic,
  DiagnosticError,
  error,
  type SourceLocation,
  warning,
} from '../diagnostics/diagnostic.js';
import { BlobStore } from '../image/blobstore.js';
import { emptyImage, type Image, withContainerConfig, withImageFields } from '../image/image.js';
import type { Layer, LayerCompression } from '../image/layer.js';
import { baseCacheKey, canonicalBaseJson, canonicalStepJson, stepCacheKey } from '../lower/canonical.js';
import type { Base, IR, Location, Stage, Step } from '../lower/ir.js';
import type { ClientOptions } from '../registry/client.js';
import { sweepRunScratch } from '../sandbox/run.js';
import { detectDriver, openDriver } from '../snapshot/detect.js';
import type { ActiveSnapshot, SnapshotDriver } from '../snapshot/types.js';
import { materializeImage } from '../sources/source.js';
import { BaseTreesAhead } from './ahead.js';
import { resolveBaseSource } from './bases.js';
import { applyConfigChange, withWorkingDir } from './config.js';
import { LayerMaker } from './layers.js';
import { LayerQueue, PendingImage } from './pending.js';
import type { ProgressReporter } from './progress.js';
import { executeStep, type StepEnv, stepInputDigests } from './steps.js';
import { trace } from './trace.js';

export interface InterpretOptions {
  ir: IR;
  contextDir: string;
  /** The Rootfile's path (for its .dockerignore and to name the per-step "last inputs" slots). */
  rootfile: string;
  cacheDir: string;
  noCache: boolean;
  /** SOURCE_DATE_EPOCH: `created`, history times and the clamp of every mtime a step writes. */
  epoch: number;
  progress: ProgressReporter;
  signal?: AbortSignal;
  /** Compression of the layers rootc makes (kept in the cache, reused by outputs). */
  compression?: LayerCompression;
  /**
   * Run only as far as the cache allows: the first step that must execute (or any need for a tree)
   * throws NeedsExecution. Lets the CLI finish a fully cached build without entering a namespace.
   */
  dryRunOnly?: boolean;
  /** Registry access for FROM <image> (extra CAs, insecure hosts). */
  registry?: ClientOptions;
}

/** Thrown in dryRunOnly mode when the build needs mounts or processes (a cache miss, a tree for an output). */
export class NeedsExecution extends Error {
  constructor() {
    super('the build needs to execute steps');
    this.name = 'NeedsExecution';
  }
}

export interface StageResult {
  stage: Stage;
  image: Image;
  /** The key of the stage's final state (its last step, or its base). */
  key: string;
  /** A committed snapshot holding the stage's final tree, when one exists. */
  snapshot?: string;
}

export interface InterpretResult {
  target: StageResult;
  stages: Map<string, StageResult>;
  /** Materializes a stage's final tree into a directory (for rootfs outputs and COPY --from). */
  withTree<T>(result: StageResult, use: (dir: string) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  store: BlobStore;
  warnings: Diagnostic[];
}

export class BuildInterpreter {
  readonly cache: BuildCache;
  readonly store: BlobStore;
  readonly context: BuildContext;
  private driver: Promise<SnapshotDriver> | undefined;
  private readonly stages = new Map<string, StageResult>();
  private readonly layers = new LayerQueue();
  private readonly layerMaker: LayerMaker;
  private readonly treesAhead: BaseTreesAhead;
  private stepNumber = 0;
  private totalSteps = 0;
  readonly warnings: Diagnostic[] = [];

  constructor(private readonly opts: InterpretOptions) {
    this.cache = new BuildCache(opts.cacheDir);
    this.cache.sweepTemp();
    this.store = new BlobStore(this.cache.dir);
    this.layerMaker = new LayerMaker(this.store);
    this.treesAhead = new BaseTreesAhead(this.cache);
    this.context = BuildContext.open(opts.contextDir, opts.rootfile);
    this.context.digests = new FileDigestCache(path.join(this.cache.dir, 'digests.json'));
  }

  async run(): Promise<InterpretResult> {
    const { ir } = this.opts;
    this.totalSteps = ir.stages.reduce((n, s) => n + 1 + s.steps.length, 0);
    this.opts.progress.emit({ type: 'build-start', stages: ir.stages.length, steps: this.totalSteps });
    try {
      for (const stage of ir.stages) {
        this.stages.set(stage.id, await this.runStage(stage));
      }
      // Every layer is made (each stage waits for its own): the layer thread is stopped, so its heap is freed
      // while the outputs are written, when the build's memory peaks. Not waited for here: close() does.
      this.layerMaker.close().catch(() => {});
    } catch (err) {
      // No result, so no close() by the caller: stop the layer thread here (its jobs have all ended).
      await this.layerMaker.close();
      await this.treesAhead.discard();
      throw err;
    } finally {
      this.context.digests.save();
    }
    const target = this.stages.get(ir.target);
    if (!target)
      throw new DiagnosticError(error('build/no-target', `target stage "${ir.target}" was not built`));
    return {
      target: { ...target, image: withImageFields(target.image, { created: this.opts.epoch }) },
      stages: this.stages,
      withTree: (result, use) => this.withTree(result, use),
      close: () => this.close(),
      store: this.store,
      warnings: this.warnings,
    };
  }

  async close(): Promise<void> {
    this.context.digests.save();
    const driver = await this.driver?.catch(() => undefined);
    await driver?.close();
    await this.layerMaker.close();
    await this.treesAhead.discard();
  }

  private snapshots(): Promise<SnapshotDriver> {
    if (this.opts.dryRunOnly) return Promise.reject(new NeedsExecution());
    this.driver ??= (async () => {
      const kind = await detectDriver(this.cache.snapshotsDir);
      trace('driver detected');
      const driver = openDriver(kind, this.cache.dir);
      // Work dirs of builds that were killed (SIGKILL leaves no mount, but may leave a directory).
      // Best effort: a sweep must never fail a build.
      await driver.sweep().catch(() => 0);
      await sweepRunScratch().catch(() => 0);
      return driver;
    })();
    return this.driver;
  }

  private emitStart(name: string, stage: Stage, location: Location): number {
    const step = ++this.stepNumber;
    this.opts.progress.emit({
      type: 'step-start',
      step,
      total: this.totalSteps,
      stage: stage.name ?? stage.id,
      name,
      location: toSourceLocation(location),
    });
    return step;
  }

  private warn(d: Diagnostic): void {
    this.warnings.push(d);
    this.opts.progress.emit({ type: 'warning', message: d.message });
  }

  private async resolveBase(stage: Stage): Promise<{ image: Image; key: string; snapshot?: string }> {
    const base = stage.base;
    const loc = toSourceLocation(stage.location);
    switch (base.kind) {
      case 'scratch':
        return { image: emptyImage(), key: baseCacheKey(base, [this.epochInput()]) };
      case 'stage': {
        const parent = this.stages.get(base.stage);
        if (!parent)
          throw new DiagnosticError(error('build/unknown-stage', `stage "${base.stage}" was not built`, loc));
        return {
          image: parent.image.config.config.OnBuild
            ? withContainerConfig(parent.image, { OnBuild: undefined })
            : parent.image,
          key: parent.key,
          ...(parent.snapshot ? { snapshot: parent.snapshot } : {}),
        };
      }
      default: {
        // A dry run must stay cheap: a base never resolved in this cache (a debootstrap, a first
        // download or conversion) is work for the real run, where its progress is shown.
        const marker = path.join(this.cache.dir, 'bases', `${sha256(canonicalBaseJson(base))}.resolved`);
        if (this.opts.dryRunOnly && !existsSync(marker)) throw new NeedsExecution();
        // A real run extracts the tree of a base it converts while converting it (build/ahead.ts): the
        // conversion of a base never converted before is a sign its steps will run.
        const ahead = this.opts.dryRunOnly ? undefined : this.treesAhead;
        const resolving = resolveBaseSource(base, {
          store: this.store,
          cacheDir: this.cache.dir,
          baseDir: this.opts.contextDir,
          location: loc,
          compression: this.opts.compression ?? 'none',
          warn: (d) => this.warn(d),
          digestFile: (file) => this.context.digests.digest(file, undefined, { offThread: true }),
          knownDigest: (file) => this.context.digests.known(file),
          platform: this.opts.ir.platform,
          epoch: this.opts.epoch,
          ...(this.opts.registry ? { registry: this.opts.registry } : {}),
          ...(ahead ? { bottomLayerTap: () => ahead.tap() } : {}),
        });
        let resolved: Awaited<typeof resolving>;
        try {
          resolved = await resolving;
        } catch (err) {
          await ahead?.failed();
          throw err;
        }
        const key = baseCacheKey(base, [resolved.digest, this.epochInput()]);
        await ahead?.resolved(key);
        // ONBUILD triggers run in the first build FROM an image (lowering splices them) and are not inherited further.
        const image = resolved.image.config.config.OnBuild
          ? withContainerConfig(resolved.image, { OnBuild: undefined })
          : resolved.image;
        mkdirSync(path.dirname(marker), { recursive: true });
        atomicWrite(marker, `${resolved.digest}\n`);
        return { image, key };
      }
    }
  }

  /**
   * SOURCE_DATE_EPOCH is in every stage's base key: the layers a build makes carry mtimes clamped to it, so a
   * layer made under another epoch is another layer (reusing it would break `same inputs, same bytes`).
   */
  private epochInput(): string {
    return `epoch:${this.opts.epoch}`;
  }

  private async runStage(stage: Stage): Promise<StageResult> {
    const started = Date.now();
    const fromStep = this.emitStart(stage.location.text, stage, stage.location);
    trace(`stage ${stage.id}: base`);
    const base = await this.resolveBase(stage);
    trace(`stage ${stage.id}: base resolved`);
    if (!this.opts.dryRunOnly) {
      // A real run (the dry run found work to do) will want the snapshot driver and the layer thread:
      // start both now, while this stage's first inputs are hashed. Not earlier: converting a base
      // tarball keeps both cores busy, and starting them beside it made FROM 0.2–0.4 s slower.
      // Errors surface where the driver is awaited.
      this.snapshots().catch(() => {});
      this.layerMaker.start();
    }
    this.opts.progress.emit({
      type: 'step-done',
      step: fromStep,
      cached: false,
      durationMs: Date.now() - started,
      layerSize: 0,
    });

    const image = new PendingImage(base.image);
    let key = base.key;
    /** A committed snapshot holding the current tree, if there is one. */
    let snapshot = base.snapshot;
    let active: ActiveSnapshot | undefined;
    const slotBase = createHash('sha256').update(`${path.resolve(this.opts.rootfile)}\0${stage.id}\0`);

    try {
      for (const [index, step] of stage.steps.entries()) {
        image.throwIfFailed();
        const history = { created_by: step.location.text, comment: 'rootc', created: this.opts.epoch };
        if (step.op === 'config') {
          const n = this.emitStart(step.location.text, stage, step.location);
          image.change((i) => applyConfigChange(i, step.change));
          image.appendHistory(history);
          key = stepCacheKey(key, step, []);
          this.opts.progress.emit({ type: 'step-done', step: n, cached: true, durationMs: 0, layerSize: 0 });
          continue;
        }
        const n = this.emitStart(step.location.text, stage, step.location);
        const t0 = Date.now();
        let inputs: Record<string, string>;
        try {
          inputs = await this.inputsOf(step);
        } catch (err) {
          const d = stepFailure(err, step);
          this.opts.progress.emit({ type: 'step-error', step: n, message: d.message });
          throw new DiagnosticError(d);
        }
        const stepKey = stepCacheKey(key, step, Object.values(inputs));
        const slot = createHash('sha256')
          .update(slotBase.copy().digest('hex'))
          .update(String(index))
          .digest('hex');
        const keyInputs: KeyInputs = { parentKey: key, stepDigest: sha256(canonicalStepJson(step)), inputs };
        const record = this.opts.noCache ? undefined : this.cache.getStep(stepKey);
        if (step.op === 'workdir') image.change((i) => withWorkingDir(i, step.path));

        if (record) {
          this.opts.progress.emit({ type: 'step-cached', step: n, key: stepKey });
          image.appendLayer(record.layer, history);
          key = stepKey;
          // Only a candidate: prepareActive checks that the snapshot exists when a later step needs a tree.
          snapshot = stepKey;
          this.opts.progress.emit({
            type: 'step-done',
            step: n,
            cached: true,
            durationMs: Date.now() - t0,
            layerSize: record.layer?.size ?? 0,
          });
          this.cache.recordInputs(slot, keyInputs);
          continue;
        }

        this.opts.progress.emit({
          type: 'step-miss',
          step: n,
          key: stepKey,
          reason: this.explainMiss(slot, keyInputs),
        });
        trace(`step ${n}: inputs hashed`);
        const driver = await this.snapshots();
        trace(`step ${n}: snapshot driver ready`);
        active = await this.prepareActive(driver, () => image.resolve(), key, snapshot);
        trace(`step ${n}: tree ready`);
        const env: StepEnv = {
          rootfs: active.rootfs,
          image: image.peek(),
          context: this.context,
          proxyEnv: this.opts.ir.proxyEnv,
          stages: this.stages,
          withTree: (result, use) => this.withTree(result, use),
          onOutput: (line) => this.opts.progress.emit({ type: 'step-log', step: n, line }),
          warn: (message) => this.warn(warning('build/step', message, toSourceLocation(step.location))),
          store: this.store,
          cacheDir: this.cache.dir,
          ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        };
        try {
          await executeStep(step, env);
        } catch (err) {
          const d = stepFailure(err, step);
          this.opts.progress.emit({ type: 'step-error', step: n, message: d.message });
          throw new DiagnosticError(d);
        }
        trace(`step ${n}: executed`);
        await active.commit(stepKey);
        await active.release();
        active = undefined;
        snapshot = stepKey;
        this.cache.recordInputs(slot, keyInputs);
        key = stepKey;
        // The layer is made from the committed snapshot while the next steps run; the step's cache record
        // is written once its layer is in the store (a record never points at a missing blob).
        const made = this.layers
          .add(() => this.layerOf(driver, stepKey))
          .then(
            (layer) => {
              this.cache.putStep({ version: 1, key: stepKey, ...(layer ? { layer } : {}) });
              this.opts.progress.emit({
                type: 'step-done',
                step: n,
                cached: false,
                durationMs: Date.now() - t0,
                layerSize: layer?.size ?? 0,
              });
              return layer;
            },
            (err: unknown) => {
              const d = stepFailure(err, step);
              this.opts.progress.emit({ type: 'step-error', step: n, message: d.message });
              throw new DiagnosticError(d);
            },
          );
        image.appendPending(made, history);
      }
    } finally {
      await active?.release();
      // Nothing may still write into the cache once the stage has ended, failed or not.
      await this.layers.settled();
    }
    return { stage, image: await image.resolve(), key, ...(snapshot ? { snapshot } : {}) };
  }

  /** The layer of a committed step (undefined when the step changed nothing), made on the layer thread. */
  private async layerOf(driver: SnapshotDriver, key: string): Promise<Layer | undefined> {
    trace(`layer of ${key.slice(0, 12)}: started`);
    const layer = await this.layerMaker.make(await driver.diffSource(key), {
      compression: this.opts.compression ?? 'none',
      clampMtime: this.opts.epoch,
    });
    trace(`layer of ${key.slice(0, 12)}: stored`);
    return layer;
  }

  /** A writable tree holding the current state: on the committed snapshot when there is one, else rebuilt from layers. */
  private async prepareActive(
    driver: SnapshotDriver,
    image: () => Promise<Image>,
    key: string,
    snapshot: string | undefined,
  ): Promise<ActiveSnapshot> {
    if (snapshot && (await driver.has(snapshot))) return driver.prepare(snapshot);
    // No snapshot of this state (first build from this base, or a cache made by another driver):
    // materialize it once from the layers and commit it under a key of its own.
    const materializedKey = `m-${key.slice(0, 60)}`;
    if (await driver.has(materializedKey)) return driver.prepare(materializedKey);
    const layers = (await image()).layers;
    const extracted = layers.length === 1 ? await this.treesAhead.take(key, layers[0]!.diffId) : undefined;
    if (extracted) {
      try {
        await driver.adopt(extracted, materializedKey);
        trace('materialized ahead, adopted');
        return driver.prepare(materializedKey);
      } catch (err) {
        // Snapshots on another filesystem than the cache's tmp/ (EXDEV): extract the layer as usual.
        await rm(extracted, { recursive: true, force: true });
        if (await driver.has(materializedKey)) throw err;
      }
    }
    const fresh = await driver.prepare(undefined);
    try {
      // Nodes a user namespace cannot make stay as marked placeholders, so REMOVE and RUN see them (issue 7).
      const report = await materializeImage(this.store, await image(), fresh.rootfs, {
        nodePlaceholders: true,
      });
      if (report.skippedNodes.length > 0) {
        this.warn(
          warning(
            'build/device-nodes',
            `${report.skippedNodes.length} device node(s) could not be created on disk (they stay in the image's layers)`,
          ),
        );
      }
      trace('materialized');
      await fresh.commit(materializedKey);
      await fresh.release();
    } catch (err) {
      await fresh.release();
      throw err;
    }
    trace('materialize committed');
    return driver.prepare(materializedKey);
  }

  private async withTree<T>(result: StageResult, use: (dir: string) => Promise<T>): Promise<T> {
    const driver = await this.snapshots();
    const active = await this.prepareActive(driver, async () => result.image, result.key, result.snapshot);
    try {
      return await use(active.rootfs);
    } finally {
      await active.release();
    }
  }

  private async inputsOf(step: Step): Promise<Record<string, string>> {
    return stepInputDigests(step, {
      context: this.context,
      stages: this.stages,
      store: this.store,
      cacheDir: this.cache.dir,
    });
  }

  private explainMiss(slot: string, now: KeyInputs): string {
    if (this.opts.noCache) return '--no-cache';
    const last = this.cache.lastInputs(slot);
    if (!last) return 'not built before';
    if (last.stepDigest !== now.stepDigest) return 'the instruction changed';
    const changed = Object.keys({ ...last.inputs, ...now.inputs }).filter(
      (k) => last.inputs[k] !== now.inputs[k],
    );
    if (changed.length > 0) return `inputs changed: ${changed.join(', ')}`;
    if (last.parentKey !== now.parentKey) return 'a previous step changed';
    return 'its cache entry is gone';
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function toSourceLocation(loc: Location): SourceLocation {
  return {
    file: loc.file,
    range: {
      start: { line: loc.line, column: loc.column, offset: 0 },
      end: { line: loc.endLine, column: loc.endColumn, offset: 0 },
    },
  };
}

function stepFailure(err: unknown, step: Step): Diagnostic {
  const location = toSourceLocation(step.location);
  if (err instanceof DiagnosticError && err.diagnostics[0]) {
    const d = err.diagnostics[0];
    return { ...d, location: d.location ?? location };
  }
  const message = err instanceof Error ? err.message : String(err);
  return error(`build/${step.op}-failed`, message, location);
}

/** Removes a directory tree, ignoring a missing one. */
export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export type { Base };
