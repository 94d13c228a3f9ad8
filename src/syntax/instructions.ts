/**
 * Parsed instruction (tokens) → InstructionNode. Argument values come from the logical line's text
 * through BuildKit's own line parsers (`line_parsers.go`): parseMaybeJSON, parseMaybeJSONToList,
 * parseStringsWhitespaceDelimited, parseString, parseNameVal, parseNameOrNameVal, parseHealthConfig,
 * parseSubCommand.
 */
import { suggest } from '../diagnostics/suggest.js';
import type { Arg, EscapeChar, Flag, FromClause, Heredoc, InstructionNode } from './ast.js';
import { SyntaxCodes } from './codes.js';
import { parseJson } from './json.js';
import { instructionNames } from './keywords.js';
import { type LogicalLine, type RawDiagnostic, rangeToSource, toSource } from './lines.js';
import { FlagWord, Instruction, type Pair, Word } from './nodes.js';
import type { ParsedInstruction, Tok } from './parser.js';
import type { PositionIndex } from './positions.js';
import { unquote } from './shlex.js';
import { isSpace } from './unicode.js';
import { type Piece, parseWords, processFlag, splitFirstWhitespace, splitWhitespace } from './words.js';

export interface BuildContext {
  line: LogicalLine;
  /** Offset of the logical line in the lexed text. */
  base: number;
  source: PositionIndex;
  escape: EscapeChar;
  diagnostics: RawDiagnostic[];
}

/**
 * The empty `comments` and `heredocs` of most nodes, one frozen array for all: one object less per
 * node for the garbage collector to copy (nothing changes these arrays; frozen, a change would throw).
 */
const NONE: never[] = Object.freeze([]) as unknown as never[];

const canonicalNames = new Map<string, string>(instructionNames.map((n) => [n, n]));

/**
 * What building one instruction needs besides the parsed tokens: a class rather than closures in
 * buildInstruction, which made six functions and their context per instruction.
 */
class Builder {
  constructor(
    readonly cx: BuildContext,
    readonly node: Instruction,
    /** Where the arguments start in the logical line. */
    readonly rs: number,
  ) {}

  /** An argument at the half-open range [a, b) of the logical line. */
  word(value: string, raw: string, a: number, b: number): Word {
    const line = this.cx.line;
    const s = toSource(line, a);
    return new Word(value, raw, this.cx.source, s, b <= a ? s : toSource(line, b - 1) + 1);
  }

  /** An argument for a piece of the arguments (offsets relative to `rs`). */
  arg(pc: Piece, value = pc.text): Word {
    return this.word(value, pc.text, this.rs + pc.start, this.rs + pc.end);
  }

  unq(s: string): string {
    return unquote(s, this.cx.escape).value;
  }

  report(code: string, message: string, a: number, b: number, suggestion?: string): void {
    const [s, e] = rangeToSource(this.cx.line, a, b);
    this.cx.diagnostics.push({
      severity: 'error',
      code,
      message,
      start: s,
      end: e,
      ...(suggestion ? { suggestion } : {}),
    });
  }

  /** A `key=value` word split at its first `=` (at `eq`): both parts unquoted, in args. */
  pushKeyValue(w: Piece, eq: number): void {
    const t = w.text;
    const kRaw = t.slice(0, eq);
    const vRaw = t.slice(eq + 1);
    const k = this.word(this.unq(kRaw), kRaw, this.rs + w.start, this.rs + w.start + eq);
    const v = this.word(this.unq(vRaw), vRaw, this.rs + w.start + eq + 1, this.rs + w.end);
    this.node.args.push(k, v);
  }

  /** parseMaybeJSON (`list` false) / parseMaybeJSONToList (`list` true): the args, exactly sized. */
  maybeJson(r: string, base: number, list: boolean): Arg[] {
    if (r === '' && !list) return [];
    const j = parseJson(r);
    if (j.kind === 'json') {
      this.node.json = true;
      const items = j.items;
      const out: Arg[] = new Array(items.length);
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        out[i] = this.word(it.text, r.slice(it.start, it.end), base + it.start, base + it.end);
      }
      return out;
    }
    if (j.kind === 'not-strings') {
      this.report(
        SyntaxCodes.jsonNotStrings,
        'when using JSON array syntax, arrays must be comprised of strings only',
        base,
        base + r.length,
      );
    }
    if (list) return this.words(splitWhitespace(r), base);
    return [this.word(r, r, base, base + r.length)];
  }

  /** Args for pieces at `base` (their values as written), exactly sized. */
  words(pieces: Piece[], base: number): Arg[] {
    const out: Arg[] = new Array(pieces.length);
    for (let i = 0; i < pieces.length; i++) {
      const w = pieces[i]!;
      out[i] = this.word(w.text, w.text, base + w.start, base + w.end);
    }
    return out;
  }
}

export function buildInstruction(p: ParsedInstruction, cx: BuildContext): InstructionNode {
  const { line } = cx;
  const text = line.text;
  const kwStart = p.keyword.startOffset - cx.base;
  const kwEnd = tokEnd(p.keyword) - cx.base;
  const upper = p.keyword.image.toUpperCase();
  // The instruction names' own strings, not a copy of the keyword per node.
  const keyword = canonicalNames.get(upper) ?? upper;

  let flags: Flag[] = NONE;
  if (p.flags.length > 0) {
    flags = new Array(p.flags.length);
    for (let i = 0; i < p.flags.length; i++) flags[i] = toFlag(p.flags[i]!, cx);
  }

  // The arguments as BuildKit's splitCommand leaves them: from the first non-flag word to the end
  // of the logical line, trimmed.
  let rs = text.length;
  if (p.rest.length > 0) rs = p.rest[0]!.startOffset - cx.base;
  else if (p.inner) rs = p.inner.keyword.startOffset - cx.base;
  let re = text.length;
  while (re > rs && isSpace(text.charCodeAt(re - 1))) re--;
  while (rs < re && isSpace(text.charCodeAt(rs))) rs++;
  const rest = text.slice(rs, re);

  const start = toSource(line, kwStart);
  const node = new Instruction(
    keyword,
    cx.source,
    start,
    kwEnd <= kwStart ? start : toSource(line, kwEnd - 1) + 1,
    Math.max(start, line.end),
    flags,
    [],
    NONE,
    text.slice(kwStart),
    kwStart === 0 && line.comments.length > 0 ? line.comments : NONE,
  );
  const b = new Builder(cx, node, rs);

  switch (p.family) {
    case 'shell':
      node.args = b.maybeJson(rest, rs, false);
      break;
    case 'list':
      node.args = b.maybeJson(rest, rs, true);
      break;
    case 'words':
      node.args = b.words(splitWhitespace(rest), rs);
      break;
    case 'string':
      if (rest !== '') node.args = [b.word(rest, rest, rs, rs + rest.length)];
      break;
    case 'keyValue':
    case 'annotation': {
      const words = parseWords(rest, cx.escape);
      if (words.length === 0) break;
      if (!words[0]!.text.includes('=') && p.family === 'keyValue') {
        // Legacy `ENV name value`: the value is the rest of the line as written.
        node.pairsInArgs(0, true);
        const parts = splitFirstWhitespace(rest);
        if (parts.length < 2) {
          b.report(SyntaxCodes.invalidKeyValue, `${keyword} must have two arguments`, rs, re);
          node.args.push(b.arg(parts[0]!, b.unq(parts[0]!.text)));
          break;
        }
        node.args.push(b.arg(parts[0]!, b.unq(parts[0]!.text)), b.arg(parts[1]!, b.unq(parts[1]!.text)));
        break;
      }
      node.pairsInArgs(0, false);
      for (const w of words) {
        const eq = w.text.indexOf('=');
        if (eq < 0) {
          b.report(
            SyntaxCodes.invalidKeyValue,
            `Syntax error - can't find = in ${JSON.stringify(w.text)}. Must be of the form: name=value`,
            rs + w.start,
            rs + w.end,
          );
          continue;
        }
        b.pushKeyValue(w, eq);
      }
      break;
    }
    case 'arg': {
      const words = parseWords(rest, cx.escape);
      const pairs: Pair[] = [];
      for (const w of words) {
        const eq = w.text.indexOf('=');
        if (eq < 0) {
          const k = b.arg(w, b.unq(w.text));
          pairs.push({ key: k, value: undefined, legacy: false });
          node.args.push(k, b.word('', '', rs + w.end, rs + w.end));
          continue;
        }
        b.pushKeyValue(w, eq);
        const args = node.args;
        pairs.push({ key: args[args.length - 2]!, value: args[args.length - 1], legacy: false });
      }
      node.pairs = pairs.slice();
      break;
    }
    case 'include': {
      const words = parseWords(rest, cx.escape);
      if (words.length === 0) {
        b.report(SyntaxCodes.missingArgument, 'INCLUDE requires a stdlib name or a path', kwStart, kwEnd);
        break;
      }
      node.args.push(b.arg(words[0]!, b.unq(words[0]!.text)));
      node.pairsInArgs(1, false);
      for (const w of words.slice(1)) {
        const eq = w.text.indexOf('=');
        if (eq <= 0) {
          b.report(
            SyntaxCodes.invalidKeyValue,
            `INCLUDE arguments must be KEY=VALUE, not ${JSON.stringify(w.text)}`,
            rs + w.start,
            rs + w.end,
          );
          continue;
        }
        b.pushKeyValue(w, eq);
      }
      break;
    }
    case 'healthcheck': {
      // parseHealthConfig: the type word, then parseMaybeJSON on what follows.
      let sep = 0;
      while (sep < rest.length && !isSpace(rest.charCodeAt(sep))) sep++;
      let next = sep;
      while (next < rest.length && isSpace(rest.charCodeAt(next))) next++;
      if (sep === 0) break;
      node.args = [
        b.arg({ text: rest.slice(0, sep), start: 0, end: sep }),
        ...b.maybeJson(rest.slice(next), rs + next, false),
      ];
      break;
    }
    case 'from':
      buildFrom(p, node, cx, b);
      break;
    case 'onbuild': {
      if (!p.inner) {
        b.report(SyntaxCodes.missingArgument, 'ONBUILD requires an instruction', kwStart, kwEnd);
        break;
      }
      const inner = buildInstruction(p.inner, cx);
      const k = inner.keyword;
      if (k === 'ONBUILD') {
        b.report(
          SyntaxCodes.invalidOnbuild,
          "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
          p.inner.keyword.startOffset - cx.base,
          tokEnd(p.inner.keyword) - cx.base,
        );
      } else if (k === 'FROM' || k === 'MAINTAINER') {
        b.report(
          SyntaxCodes.invalidOnbuild,
          `${k} isn't allowed as an ONBUILD trigger`,
          p.inner.keyword.startOffset - cx.base,
          tokEnd(p.inner.keyword) - cx.base,
        );
      }
      node.inner = inner;
      break;
    }
    case 'unknown': {
      const word = p.keyword.image;
      const s = suggest(word, instructionNames);
      b.report(
        SyntaxCodes.unknownInstruction,
        `unknown instruction ${JSON.stringify(word)}${s ? ` (did you mean ${s}?)` : ''}`,
        kwStart,
        kwEnd,
        s,
      );
      node.args = b.words(splitWhitespace(rest), rs);
      break;
    }
  }

  if (keyword === 'MAINTAINER') {
    const [s, e] = rangeToSource(line, kwStart, kwEnd);
    cx.diagnostics.push({
      severity: 'warning',
      code: SyntaxCodes.deprecatedMaintainer,
      message: 'MAINTAINER is deprecated: use LABEL maintainer="…"',
      start: s,
      end: e,
    });
  }

  // Heredocs belong to the instruction that opens them (for ONBUILD, the inner one).
  if (p.family !== 'onbuild') node.heredocs = heredocsOf(line, cx);
  // An array grown with push has room for 17 elements or more: the tree keeps exact copies (and
  // the shared empty array for no args), as it lives as long as the tree does.
  if (node.args.length === 0) node.args = NONE;
  else if (pushes.has(p.family)) node.args = node.args.slice();
  return node;
}

/** The families whose args are built with push (the others map a list of known length). */
const pushes = new Set<string>(['keyValue', 'annotation', 'arg', 'include', 'from']);

/** End offset (exclusive) of a token; tokens inserted by error recovery have none. */
function tokEnd(t: Tok): number {
  return t.startOffset + t.image.length;
}

function toFlag(t: Tok, cx: BuildContext): Flag {
  const text = processFlag(t.image);
  const body = text.slice(2);
  const eq = body.indexOf('=');
  const a = t.startOffset - cx.base;
  const b = tokEnd(t) - cx.base;
  const s = toSource(cx.line, a);
  return new FlagWord(
    eq < 0 ? body : body.slice(0, eq),
    eq < 0 ? undefined : body.slice(eq + 1),
    t.image,
    cx.source,
    s,
    b <= a ? s : toSource(cx.line, b - 1) + 1,
  );
}

function heredocsOf(line: LogicalLine, cx: BuildContext): Heredoc[] {
  if (line.heredocs.length === 0) return NONE;
  return line.heredocs.map((h) => {
    const [s, e] = rangeToSource(line, h.word.start, h.word.end);
    return {
      name: h.word.name,
      content: h.content,
      expand: h.word.expand,
      chomp: h.word.chomp,
      range: cx.source.range(s, e),
      bodyRange: cx.source.range(h.bodyStart, h.bodyEnd),
    };
  });
}

function buildFrom(p: ParsedInstruction, node: InstructionNode, cx: BuildContext, bd: Builder): void {
  const f = p.from!;
  const off = (t: Tok) => [t.startOffset - cx.base, tokEnd(t) - cx.base] as const;
  // The words are the args, and the clause's source and stage name are the same objects.
  const arg = (t: Tok): Arg => bd.word(t.image, t.image, t.startOffset - cx.base, tokEnd(t) - cx.base);
  let clause: FromClause | undefined;
  if (f.kind && f.source) {
    const kind = f.kind.image.toLowerCase() as FromClause['kind'];
    const source = arg(f.source);
    clause = { kind, source };
    node.args.push(arg(f.kind), source);
    if (f.trailingFlags.length > 0)
      node.flags = [...node.flags, ...f.trailingFlags.map((t) => toFlag(t, cx))];
  } else if (f.image) {
    const source = arg(f.image);
    clause = { kind: f.image.image === 'scratch' ? 'scratch' : 'image', source };
    node.args.push(source);
  }
  if (f.as) {
    node.args.push(arg(f.as));
    if (f.name && !f.name.isInsertedInRecovery) {
      const name = arg(f.name);
      node.args.push(name);
      if (clause) clause.stageName = name;
    }
  }
  if (clause) node.from = clause;
  if (!f.image && !f.kind) {
    const [a, b] = off(p.keyword);
    bd.report(
      SyntaxCodes.missingArgument,
      'FROM requires an image, `scratch` or a source kind (tarball, stage3, …)',
      a,
      b,
    );
  }
  if (f.extra.length > 0) {
    const first = f.extra[0]!;
    const last = f.extra[f.extra.length - 1]!;
    for (const t of f.extra) node.args.push(arg(t));
    const expected = f.as
      ? 'nothing after the stage name'
      : f.kind
        ? 'only --flags or `AS name` after the source'
        : '`AS name` or the end of the line';
    bd.report(
      SyntaxCodes.invalidInstruction,
      `unexpected ${JSON.stringify(first.image)} in FROM: expected ${expected}`,
      off(first)[0],
      off(last)[1],
    );
  }
}
