/**
 * Offset → line/column for the parser's hot path: the same positions as `SourceText` (lines end at
 * `\n`, `\r\n` or a lone `\r`), with the line starts found when a position is first asked for and
 * lookups that start from the previous answer (the parser asks in nearly increasing order). The last two
 * positions made are handed out again for the same offset (an instruction's range starts where its
 * keyword does, and often ends where its last argument does): positions are values, never changed,
 * and every one of them is an object the garbage collector has to copy.
 */
import type { SourcePosition, SourceRange } from '../diagnostics/diagnostic.js';

export class PositionIndex {
  /** The line starts, found when a position is first asked for (a check without problems asks none). */
  private starts: number[] | undefined;
  private last = 0;
  private recent: SourcePosition | undefined;
  private older: SourcePosition | undefined;

  constructor(private readonly text: string) {}

  private lineStarts(): number[] {
    const text = this.text;
    const starts = [0];
    if (!text.includes('\r')) {
      // Nearly every file: only `\n` ends lines, found with indexOf (no match object per line).
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    } else {
      const re = /\r\n|\r|\n/g;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) starts.push(m.index + m[0].length);
    }
    this.starts = starts;
    return starts;
  }

  position(offset: number): SourcePosition {
    const o = Math.min(Math.max(offset, 0), this.text.length);
    if (this.recent?.offset === o) return this.recent;
    if (this.older?.offset === o) return this.older;
    const s = this.starts ?? this.lineStarts();
    let i = this.last;
    if (s[i]! <= o && (i + 1 >= s.length || s[i + 1]! > o)) {
      // same line as last time
    } else if (i + 1 < s.length && s[i + 1]! <= o && (i + 2 >= s.length || s[i + 2]! > o)) {
      i++;
    } else {
      let lo = 0;
      let hi = s.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (s[mid]! <= o) lo = mid;
        else hi = mid - 1;
      }
      i = lo;
    }
    this.last = i;
    const p = { offset: o, line: i + 1, column: o - s[i]! + 1 };
    this.older = this.recent;
    this.recent = p;
    return p;
  }

  /**
   * A range whose positions are computed when read: the parser makes a range for every keyword,
   * flag and argument, and most of them are never looked at (a `check` reads only the ranges of
   * what it reports, the lowering those of instructions).
   */
  range(start: number, end: number): SourceRange {
    return new Span(this, start, Math.max(start, end));
  }
}

/**
 * A `SourceRange` that holds its two offsets and makes `start` and `end` on demand. It serializes as
 * the plain range does, so `rootc parse --json` and the language server see no difference.
 */
export class Span implements SourceRange {
  constructor(
    private readonly index: PositionIndex,
    private readonly from: number,
    private readonly to: number,
  ) {}

  get start(): SourcePosition {
    return this.index.position(this.from);
  }

  get end(): SourcePosition {
    return this.index.position(this.to);
  }

  toJSON(): SourceRange {
    return { start: this.start, end: this.end };
  }
}
