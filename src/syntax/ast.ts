/**
 * The syntax tree: untyped instruction nodes, as BuildKit's parser produces them (parser.Node), with
 * source ranges. The typed interpretation of each instruction (what its args mean) is the lowering
 * phase's job (like BuildKit's `instructions` package). `rootc parse --json` prints this tree.
 */
import type { Diagnostic, SourceRange } from '../diagnostics/diagnostic.js';

export type EscapeChar = '\\' | '`';

/** A parser directive at the top of the file: `# escape=`, `# syntax=`, `# check=`. */
export interface Directive {
  name: string;
  value: string;
  range: SourceRange;
}

/** `--name=value` (or `--name` alone: value undefined) before an instruction's arguments. */
export interface Flag {
  name: string;
  value: string | undefined;
  /** The flag as written, e.g. `--from=build`. */
  raw: string;
  range: SourceRange;
}

/** One argument as Docker's builder receives it. */
export interface Arg {
  /**
   * The value: JSON-decoded for exec form; for ENV/LABEL/ARG/ANNOTATION/INCLUDE keys and values (and
   * INCLUDE's name), quotes and escapes processed (`unquote`: `$…` kept as written, no variable
   * expansion); otherwise the word as written (= `raw`).
   * Lowering must expand variables from `raw` with the shell lexer (quotes, escapes and `$` are
   * processed together: `'$A'` and `\$A` are not expansions), never from `value`.
   */
  value: string;
  /**
   * The text as written in the logical line (quotes and escapes kept; continuations removed): exactly
   * BuildKit's parser value (e.g. `"a b"` with its quotes for ENV, the whole shell string for RUN).
   * For exec form, the JSON string literal as written.
   */
  raw: string;
  /** Where it is in the source (may span continuation lines). */
  range: SourceRange;
}

export interface Heredoc {
  /** The delimiter word, quotes removed. */
  name: string;
  /** The body, each line with its newline, without the terminator line. `<<-` strips leading tabs. */
  content: string;
  /** False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): no variable expansion in the body. */
  expand: boolean;
  /** `<<-`: leading tabs stripped from body lines and terminator. */
  chomp: boolean;
  /** The `<<EOF` word on the instruction line. */
  range: SourceRange;
  /** The body lines and terminator. */
  bodyRange: SourceRange;
}

export interface InstructionNode {
  /** Upper-case keyword, e.g. `RUN`. */
  keyword: string;
  keywordRange: SourceRange;
  /** From the keyword to the end of the instruction (last continuation line, heredoc terminator). */
  range: SourceRange;
  flags: Flag[];
  /** Exec form (a valid JSON array of strings). */
  json: boolean;
  /**
   * Arguments as Docker's builder receives them:
   * - exec form: the array's strings;
   * - shell-form RUN/CMD/ENTRYPOINT/SHELL body and HEALTHCHECK's command: one arg with continuations
   *   joined exactly as Docker joins them;
   * - ENV/LABEL/ARG/ANNOTATION: pairs flattened [k1, v1, k2, v2] (ARG without a default: [k, ""]
   *   with `value` undefined in `pairs`; legacy `ENV k v w`: [k, "v w"], the rest of the line);
   * - INCLUDE: [name, k1, v1, …] (the KEY=VALUE pairs also in `pairs`);
   * - HEALTHCHECK: [type, …command] (`CMD`/`NONE`/other as written; the command as for RUN);
   * - USER/WORKDIR/STOPSIGNAL/MAINTAINER: the rest of the line as one arg;
   * - FROM: the words ([kind, source, AS, name] or [image, AS, name]; see `from`);
   * - otherwise (ADD/COPY/VOLUME/REMOVE shell form, EXPOSE, unknown) the words split on blanks as
   *   BuildKit does (quotes do not group: `COPY "a b" c` gives `"a`, `b"`, `c`).
   */
  args: Arg[];
  /** For ENV/LABEL/ARG/ANNOTATION/INCLUDE: the pairs; `legacy` for the `ENV k v` / `LABEL k v` form. */
  pairs?: { key: Arg; value: Arg | undefined; legacy: boolean }[];
  heredocs: Heredoc[];
  /** ONBUILD's inner instruction (its heredocs are on it, not on the ONBUILD node). */
  inner?: InstructionNode;
  /** FROM only: which form (rootc's source kinds, or an image reference) and its parts. */
  from?: FromClause;
  /** The logical line after continuation joining, from the keyword on (for display and fmt). */
  original: string;
  /** Comment lines immediately above the instruction, `#` and one space removed. */
  comments: string[];
}

/**
 * FROM's form. `args` stays BuildKit's word list ([kind, source, AS, name] or [image, AS, name]);
 * flags written after a kind's source (`FROM tarball x.tgz --sha256=…`) are in the node's `flags`.
 */
export interface FromClause {
  /** `image` is a registry reference (or a stage name); `scratch` is `FROM scratch`. */
  kind: 'image' | 'scratch' | 'tarball' | 'stage3' | 'debootstrap' | 'docker-archive' | 'oci' | 'aci';
  /** The reference, path, URL, suite, dir or file, as written (lowering expands ARGs in it). */
  source: Arg;
  /** The `AS name` stage name, as written. */
  stageName?: Arg;
}

/** A comment line (`#` and surrounding spaces removed); parser directives are not comments. */
export interface Comment {
  text: string;
  range: SourceRange;
}

export interface RootfileAst {
  file: string;
  directives: Directive[];
  escape: EscapeChar;
  instructions: InstructionNode[];
  /** Every comment line of the file in order, also those inside continuations (for fmt, the LSP). */
  comments?: Comment[];
}

export interface ParseResult {
  ast: RootfileAst;
  diagnostics: Diagnostic[];
}
