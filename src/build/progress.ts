/**
 * Build progress: the interpreter emits events; a reporter renders them. `plain` (one line per event,
 * like BuildKit's --progress=plain), `tty` (the same with colour and a clock), `json` (one JSON object per
 * line on stdout, for tools and tests).
 */
import type { SourceLocation } from '../diagnostics/diagnostic.js';

export type ProgressEvent =
  | { type: 'build-start'; stages: number; steps: number }
  | {
      type: 'step-start';
      step: number;
      total: number;
      stage: string;
      name: string;
      location?: SourceLocation;
    }
  | { type: 'step-cached'; step: number; key: string }
  | { type: 'step-miss'; step: number; key: string; reason: string }
  | { type: 'step-log'; step: number; line: string }
  | {
      type: 'step-done';
      step: number;
      cached: boolean;
      durationMs: number;
      /** Bytes of the layer the step produced (compressed), 0 when it changed nothing. */
      layerSize: number;
    }
  | { type: 'step-error'; step: number; message: string }
  | { type: 'warning'; message: string }
  | {
      type: 'output';
      output: string;
      dest: string;
      digest?: string;
      durationMs: number;
      /** The file was already there, written by rootc with exactly this content, and untouched since. */
      upToDate?: boolean;
    }
  | { type: 'push-blob'; digest: string; size: number; action: 'exists' | 'mounted' | 'uploaded' }
  | { type: 'build-done'; durationMs: number; image?: string };

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'json' | 'quiet';

export interface ProgressReporter {
  emit(event: ProgressEvent): void;
}

export function createReporter(
  mode: ProgressMode,
  streams: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream & { isTTY?: boolean } } = process,
): ProgressReporter {
  const resolved = mode === 'auto' ? (streams.stderr.isTTY ? 'tty' : 'plain') : mode;
  if (resolved === 'quiet') return { emit: () => {} };
  if (resolved === 'json') {
    return { emit: (e) => streams.stdout.write(`${JSON.stringify(e)}\n`) };
  }
  const color = resolved === 'tty' && !process.env.NO_COLOR;
  return new TextReporter(streams.stderr, color);
}

class TextReporter implements ProgressReporter {
  private readonly names = new Map<number, string>();
  private total = 0;
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly color: boolean,
  ) {}

  private paint(code: string, s: string): string {
    return this.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  emit(e: ProgressEvent): void {
    switch (e.type) {
      case 'build-start':
        this.total = e.steps;
        return;
      case 'step-start':
        this.names.set(e.step, e.name);
        this.total = e.total;
        this.line(`#${e.step} [${e.stage} ${e.step}/${e.total}] ${e.name}`);
        return;
      case 'step-cached':
        this.line(`#${e.step} ${this.paint('36', 'CACHED')}`);
        return;
      case 'step-miss':
        this.line(`#${e.step} ${this.paint('2', `cache miss: ${e.reason}`)}`);
        return;
      case 'step-log':
        this.line(`#${e.step} ${this.paint('2', e.line)}`);
        return;
      case 'step-done':
        if (!e.cached)
          this.line(
            `#${e.step} DONE ${(e.durationMs / 1000).toFixed(1)}s${e.layerSize ? `, layer ${formatBytes(e.layerSize)}` : ''}`,
          );
        return;
      case 'step-error':
        this.line(`#${e.step} ${this.paint('31', `ERROR: ${e.message}`)}`);
        return;
      case 'warning':
        this.line(`${this.paint('33', 'WARNING')}: ${e.message}`);
        return;
      case 'output':
        this.line(
          `=> ${e.output} → ${e.dest}${e.upToDate ? ' (up to date)' : ''}${e.digest ? ` (${e.digest.slice(0, 19)})` : ''} ${(e.durationMs / 1000).toFixed(1)}s`,
        );
        return;
      case 'push-blob':
        this.line(
          `=> push ${e.digest.slice(0, 19)} ${e.action}${e.action === 'uploaded' ? ` (${formatBytes(e.size)})` : ''}`,
        );
        return;
      case 'build-done':
        this.line(`=> done in ${(e.durationMs / 1000).toFixed(1)}s${e.image ? `: ${e.image}` : ''}`);
        return;
    }
  }

  private line(s: string): void {
    this.out.write(`${s}\n`);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** Holds events back (a build attempt that may be thrown away), then replays them. */
export class BufferedReporter implements ProgressReporter {
  private readonly events: ProgressEvent[] = [];
  emit(event: ProgressEvent): void {
    this.events.push(event);
  }
  replay(to: ProgressReporter): void {
    for (const e of this.events) to.emit(e);
    this.events.length = 0;
  }
}
