/**
 * A whole build: interpret the IR, then write every requested output from the final image. Outputs are
 * written to temporary names and renamed by their writers, so a failed build leaves no half output.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { atomicWrite } from '../cache/store.js';
import { type Diagnostic, DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { singleIdDebootstrapError, singleIdMapping, singleIdRunError } from '../fsutil/owner.js';
import { canonicalJson } from '../image/canonical.js';
import { configDigest, type Image } from '../image/image.js';
import type { LayerCompression } from '../image/layer.js';
import type { IR } from '../lower/ir.js';
import type { ClientOptions } from '../registry/client.js';
import { parseRegistryRef } from '../registry/reference.js';
import { inUserNamespace } from '../sandbox/namespace.js';
import { outputPreflight, outputWriters } from '../writers/index.js';
import { BuildInterpreter, type InterpretResult, toSourceLocation } from './interpreter.js';
import type { OutputSpec } from './outputs.js';
import type { ProgressReporter } from './progress.js';
import { trace } from './trace.js';

export interface BuildImageOptions {
  ir: IR;
  rootfile: string;
  contextDir: string;
  cacheDir: string;
  noCache: boolean;
  tags: string[];
  outputs: OutputSpec[];
  progress: ProgressReporter;
  signal?: AbortSignal;
  epoch: number;
  compression?: LayerCompression;
  /** See InterpretOptions.dryRunOnly. */
  dryRunOnly?: boolean;
  /** Registry access for FROM <image> and type=registry outputs. */
  registry?: ClientOptions;
}

export interface BuildImageResult {
  warnings: Diagnostic[];
  result: InterpretResult;
}

export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const started = Date.now();
  checkCacheOwner(opts.cacheDir);
  checkSingleIdSteps(opts.ir);
  for (const output of opts.outputs) {
    if (!outputWriters[output.type]) {
      throw new DiagnosticError(
        error(
          'build/unsupported-output',
          `--output type=${output.type} is not supported by this version of rootc yet`,
        ),
      );
    }
    outputPreflight[output.type]?.(output, opts.tags);
  }
  const interpreter = new BuildInterpreter({
    ir: opts.ir,
    contextDir: opts.contextDir,
    rootfile: opts.rootfile,
    cacheDir: opts.cacheDir,
    noCache: opts.noCache,
    epoch: opts.epoch,
    progress: opts.progress,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.compression ? { compression: opts.compression } : {}),
    ...(opts.dryRunOnly ? { dryRunOnly: true } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
  trace('interpreter start');
  const result = await interpreter.run();
  trace('interpreter done');
  // Recorded before the outputs, so `rootc push` can retry a push that failed.
  for (const tag of opts.tags) saveTaggedImage(opts.cacheDir, tag, result.target.image);
  try {
    for (const output of opts.outputs) {
      const t0 = Date.now();
      const dest = output.dest === undefined ? undefined : path.resolve(output.dest);
      if (dest) mkdirSync(path.dirname(dest), { recursive: true });
      const outputKey = outputIdentity(result.target.image, output, opts.tags, opts.epoch);
      if (dest && outputUpToDate(opts.cacheDir, dest, outputKey)) {
        opts.progress.emit({
          type: 'output',
          output: output.type,
          dest,
          durationMs: Date.now() - t0,
          upToDate: true,
        });
        continue;
      }
      await outputWriters[output.type]!({
        store: result.store,
        image: result.target.image,
        tags: opts.tags,
        dest,
        spec: output,
        epoch: opts.epoch,
        withTree: (use) => result.withTree(result.target, use),
        ...(opts.registry ? { registry: opts.registry } : {}),
        onPushBlob: (e) => opts.progress.emit({ type: 'push-blob', ...e }),
      });
      if (dest) recordOutput(opts.cacheDir, dest, outputKey);
      opts.progress.emit({
        type: 'output',
        output: output.type,
        dest: dest ?? output.attrs.name ?? '',
        durationMs: Date.now() - t0,
      });
    }
  } finally {
    await result.close();
  }
  trace('outputs done');
  opts.progress.emit({
    type: 'build-done',
    durationMs: Date.now() - started,
    ...(opts.tags[0] ? { image: opts.tags[0] } : {}),
  });
  return { warnings: result.warnings, result };
}

/**
 * A rootless build without subordinate ids (fsutil/owner.ts) refuses, before any work, the steps it cannot
 * run correctly: RUN and FROM debootstrap, at their location.
 */
export function checkSingleIdSteps(ir: IR): void {
  if (!singleIdMapping()) return;
  for (const stage of ir.stages) {
    if (stage.base.kind === 'debootstrap') throw singleIdDebootstrapError(toSourceLocation(stage.location));
    for (const step of stage.steps)
      if (step.op === 'run') throw singleIdRunError(toSourceLocation(step.location));
  }
}

/**
 * A root build must not write into a cache another user owns (`sudo -E rootc build` keeps that user's
 * XDG_CACHE_HOME): the files it would leave there (snapshots hold files of uid 0, 1000… as their real
 * owners, which is what makes them snapshots) could not be deleted by that user, and chowning them to the
 * user would corrupt them. So refuse, and say which cache to use instead. Decided by the owner of the cache
 * dir, or of its nearest existing ancestor; a user namespace's root is the caller, so rootless is never refused.
 */
export function checkCacheOwner(cacheDir: string): void {
  if (process.getuid?.() !== 0 || inUserNamespace()) return;
  let dir = path.resolve(cacheDir);
  for (;;) {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (st) {
      if (st.uid === 0) return;
      throw new DiagnosticError(
        error(
          'build/cache-owner',
          `refusing to build as root into ${cacheDir}: ${dir} belongs to uid ${st.uid}, who could not delete the root-owned files the build would leave there`,
          undefined,
          {
            notes: [
              {
                message:
                  'build as that user (rootless builds give the same bytes), or give root a cache of its own: XDG_CACHE_HOME=/root/.cache or ROOTC_CACHE_DIR=DIR',
              },
            ],
          },
        ),
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** What determines an output's bytes: the image (config, layers, annotations), the output spec, tags, epoch. */
function outputIdentity(image: Image, spec: OutputSpec, tags: readonly string[], epoch: number): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        version: 1,
        config: configDigest(image),
        layers: image.layers.map((l) => l.digest),
        annotations: image.annotations,
        spec: spec.attrs,
        tags,
        epoch,
      }),
    )
    .digest('hex');
}

function outputRecordFile(cacheDir: string, dest: string): string {
  return path.join(cacheDir, 'outputs', `${createHash('sha256').update(dest).digest('hex')}.json`);
}

/** File identity that changes whenever the file is rewritten or modified (ctime cannot be set by users). */
function fileIdentity(file: string): string | undefined {
  try {
    const st = statSync(file, { bigint: true });
    return st.isFile() ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Like make: an output file this build would write identically (same identity key) and that nobody has
 * touched since rootc wrote it (same stat identity) is left as it is. Directory outputs are always written.
 */
function outputUpToDate(cacheDir: string, dest: string, key: string): boolean {
  const id = fileIdentity(dest);
  if (!id) return false;
  try {
    const record = JSON.parse(readFileSync(outputRecordFile(cacheDir, dest), 'utf8')) as {
      key: string;
      file: string;
    };
    return record.key === key && record.file === id;
  } catch {
    return false;
  }
}

function recordOutput(cacheDir: string, dest: string, key: string): void {
  const id = fileIdentity(dest);
  if (!id) return;
  mkdirSync(path.join(cacheDir, 'outputs'), { recursive: true });
  atomicWrite(outputRecordFile(cacheDir, dest), JSON.stringify({ key, file: id, dest }));
}

/** Built images by tag, so `rootc push TAG` can push what `rootc build -t TAG` made (blobs are in the cache). */
function taggedImageFile(cacheDir: string, tag: string): string {
  let key = tag;
  try {
    key = parseRegistryRef(tag).full;
  } catch {
    // Not a registry name: keep it as given.
  }
  return path.join(cacheDir, 'images', `${createHash('sha256').update(key).digest('hex')}.json`);
}

function saveTaggedImage(cacheDir: string, tag: string, image: Image): void {
  mkdirSync(path.join(cacheDir, 'images'), { recursive: true });
  atomicWrite(taggedImageFile(cacheDir, tag), JSON.stringify({ tag, image }));
}

export function loadTaggedImage(cacheDir: string, tag: string): Image | undefined {
  try {
    return (JSON.parse(readFileSync(taggedImageFile(cacheDir, tag), 'utf8')) as { image: Image }).image;
  } catch {
    return undefined;
  }
}
