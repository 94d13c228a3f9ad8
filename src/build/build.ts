/**
 * A whole build: interpret the IR, then write every requested output from the final image. Outputs are
 * written to temporary names and renamed by their writers, so a failed build leaves no half output.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Diagnostic, DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { LayerCompression } from '../image/layer.js';
import type { IR } from '../lower/ir.js';
import { outputWriters } from '../writers/index.js';
import { BuildInterpreter, type InterpretResult } from './interpreter.js';
import type { OutputSpec } from './outputs.js';
import type { ProgressReporter } from './progress.js';

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
}

export interface BuildImageResult {
  warnings: Diagnostic[];
  result: InterpretResult;
}

export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const started = Date.now();
  for (const output of opts.outputs) {
    if (!outputWriters[output.type]) {
      throw new DiagnosticError(
        error(
          'build/unsupported-output',
          `--output type=${output.type} is not supported by this version of rootc yet`,
        ),
      );
    }
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
  });
  const result = await interpreter.run();
  try {
    for (const output of opts.outputs) {
      const t0 = Date.now();
      const dest = output.dest === undefined ? undefined : path.resolve(output.dest);
      if (dest) mkdirSync(path.dirname(dest), { recursive: true });
      await outputWriters[output.type]!({
        store: result.store,
        image: result.target.image,
        tags: opts.tags,
        dest,
        spec: output,
        epoch: opts.epoch,
        withTree: (use) => result.withTree(result.target, use),
      });
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
  opts.progress.emit({
    type: 'build-done',
    durationMs: Date.now() - started,
    ...(opts.tags[0] ? { image: opts.tags[0] } : {}),
  });
  return { warnings: result.warnings, result };
}
