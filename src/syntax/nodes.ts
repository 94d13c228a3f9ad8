/**
 * The tree's nodes as classes that keep source offsets and make their ranges when read (a `Span`
 * each time): the parser makes a range for every instruction, keyword, flag and argument, and most
 * are never looked at. A node is then one object where a plain one with its range objects was three,
 * and a big file's tree is what the garbage collector copies (twice, young to old) while parsing.
 * Each serializes as the plain object did (same keys, same order), so `JSON.stringify` of a tree
 * does not change.
 */
import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { Arg, Comment, Flag, FromClause, Heredoc, InstructionNode } from './ast.js';
import { type PositionIndex, Span } from './positions.js';

/** A node that keeps its source offsets and makes its range when read. */
abstract class Located {
  constructor(
    private readonly index: PositionIndex,
    private readonly from: number,
    private readonly to: number,
  ) {}

  get range(): SourceRange {
    return new Span(this.index, this.from, this.to);
  }
}

/** An argument: its value, its text as written, and where it is (source offsets). */
export class Word extends Located implements Arg {
  constructor(
    public value: string,
    public raw: string,
    index: PositionIndex,
    from: number,
    to: number,
  ) {
    super(index, from, to);
  }

  toJSON(): Arg {
    return { value: this.value, raw: this.raw, range: this.range };
  }
}

/** `--name=value` before an instruction's arguments. */
export class FlagWord extends Located implements Flag {
  constructor(
    public name: string,
    public value: string | undefined,
    public raw: string,
    index: PositionIndex,
    from: number,
    to: number,
  ) {
    super(index, from, to);
  }

  toJSON(): Flag {
    return { name: this.name, value: this.value, raw: this.raw, range: this.range };
  }
}

/** A comment line: its text and where it is. */
export class CommentLine extends Located implements Comment {
  constructor(
    readonly text: string,
    index: PositionIndex,
    from: number,
    to: number,
  ) {
    super(index, from, to);
  }

  toJSON(): Comment {
    return { text: this.text, range: this.range };
  }
}

export type Pair = { key: Arg; value: Arg | undefined; legacy: boolean };

/** An instruction: `range` from `start` to `end`, `keywordRange` from `start` to `keywordEnd`. */
export class Instruction implements InstructionNode {
  flags: Flag[];
  json = false;
  args: Arg[];
  /**
   * The pairs as given (ARG, whose keys may have no value), or where they are in `args`: key and
   * value alternate from `args[data >> 1]` on, `legacy` is `data & 1` (ENV, LABEL, ANNOTATION,
   * INCLUDE). Those are made when read: the objects would be 3 of every ENV's 10 otherwise.
   */
  private pairData: Pair[] | number | undefined = undefined;
  heredocs: Heredoc[];
  inner: InstructionNode | undefined = undefined;
  from: FromClause | undefined = undefined;

  constructor(
    public keyword: string,
    private readonly index: PositionIndex,
    private readonly start: number,
    private readonly keywordEnd: number,
    private readonly end: number,
    flags: Flag[],
    args: Arg[],
    heredocs: Heredoc[],
    public original: string,
    public comments: string[],
  ) {
    this.flags = flags;
    this.args = args;
    this.heredocs = heredocs;
  }

  get pairs(): Pair[] | undefined {
    const d = this.pairData;
    if (typeof d !== 'number') return d;
    const args = this.args;
    const legacy = (d & 1) === 1;
    const out: Pair[] = [];
    for (let i = d >> 1; i < args.length; i += 2) out.push({ key: args[i]!, value: args[i + 1], legacy });
    return out;
  }

  set pairs(pairs: Pair[] | undefined) {
    this.pairData = pairs;
  }

  /** The pairs are the args from `from` on, key and value alternating. */
  pairsInArgs(from: number, legacy: boolean): void {
    this.pairData = (from << 1) | (legacy ? 1 : 0);
  }

  get keywordRange(): SourceRange {
    return new Span(this.index, this.start, this.keywordEnd);
  }

  get range(): SourceRange {
    return new Span(this.index, this.start, this.end);
  }

  /** The keys of the plain node, in its order; `pairs`, `from` and `inner` only when set. */
  toJSON(): InstructionNode {
    const out: InstructionNode = {
      keyword: this.keyword,
      keywordRange: this.keywordRange,
      range: this.range,
      flags: this.flags,
      json: this.json,
      args: this.args,
      heredocs: this.heredocs,
      original: this.original,
      comments: this.comments,
    };
    const pairs = this.pairs;
    if (pairs !== undefined) out.pairs = pairs;
    if (this.from !== undefined) out.from = this.from;
    if (this.inner !== undefined) out.inner = this.inner;
    return out;
  }
}
