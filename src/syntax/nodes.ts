/**
 * The tree's nodes as classes that keep source offsets and make their ranges when read (a `Span`
 * each time): the parser makes a range for every instruction, keyword, flag and argument, and most
 * are never looked at. A node is then one object where a plain one with its range objects was three,
 * and a big file's tree is what the garbage collector copies (twice, young to old) while parsing.
 * Each serializes as the plain object did (same keys, same order), so `JSON.stringify` of a tree
 * does not change.
 */
import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { Arg, Flag, FromClause, Heredoc, InstructionNode } from './ast.js';
import { type PositionIndex, Span } from './positions.js';

/** An argument: its value, its text as written, and where it is (source offsets). */
export class Word implements Arg {
  constructor(
    public value: string,
    public raw: string,
    private readonly index: PositionIndex,
    private readonly from: number,
    private readonly to: number,
  ) {}

  get range(): SourceRange {
    return new Span(this.index, this.from, this.to);
  }

  toJSON(): Arg {
    return { value: this.value, raw: this.raw, range: this.range };
  }
}

/** `--name=value` before an instruction's arguments. */
export class FlagWord implements Flag {
  constructor(
    public name: string,
    public value: string | undefined,
    public raw: string,
    private readonly index: PositionIndex,
    private readonly from: number,
    private readonly to: number,
  ) {}

  get range(): SourceRange {
    return new Span(this.index, this.from, this.to);
  }

  toJSON(): Flag {
    return { name: this.name, value: this.value, raw: this.raw, range: this.range };
  }
}

export type Pair = { key: Arg; value: Arg | undefined; legacy: boolean };

/** An instruction: `range` from `start` to `end`, `keywordRange` from `start` to `keywordEnd`. */
export class Instruction implements InstructionNode {
  flags: Flag[];
  json = false;
  args: Arg[];
  pairs: Pair[] | undefined = undefined;
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
    if (this.pairs !== undefined) out.pairs = this.pairs;
    if (this.from !== undefined) out.from = this.from;
    if (this.inner !== undefined) out.inner = this.inner;
    return out;
  }
}
