/** The syntax tree as plain JSON (`rootc parse --json`) and as a readable dump. */
import type { InstructionNode, RootfileAst } from './ast.js';

export interface InstructionJson {
  keyword: string;
  line: number;
  endLine: number;
  /** BuildKit's flag strings: quotes removed, e.g. `--from=build`. */
  flags: string[];
  json: boolean;
  args: string[];
  heredocs: { name: string; content: string; expand: boolean; chomp: boolean }[];
  from?: { kind: string; source: string; stageName?: string };
  inner?: InstructionJson;
}

export interface RootfileJson {
  file: string;
  escape: string;
  directives: { name: string; value: string; line: number }[];
  instructions: InstructionJson[];
}

export function instructionToJson(i: InstructionNode): InstructionJson {
  const out: InstructionJson = {
    keyword: i.keyword,
    line: i.range.start.line,
    endLine: i.range.end.line,
    flags: i.flags.map((f) => `--${f.name}${f.value === undefined ? '' : `=${f.value}`}`),
    json: i.json,
    args: i.args.map((a) => a.value),
    heredocs: i.heredocs.map((h) => ({ name: h.name, content: h.content, expand: h.expand, chomp: h.chomp })),
  };
  if (i.from) {
    out.from = { kind: i.from.kind, source: i.from.source.value };
    if (i.from.stageName) out.from.stageName = i.from.stageName.value;
  }
  if (i.inner) out.inner = instructionToJson(i.inner);
  return out;
}

export function astToJson(ast: RootfileAst): RootfileJson {
  return {
    file: ast.file,
    escape: ast.escape,
    directives: ast.directives.map((d) => ({ name: d.name, value: d.value, line: d.range.start.line })),
    instructions: ast.instructions.map(instructionToJson),
  };
}

/** One line per instruction, BuildKit's `Node.Dump` style: `12 (run ["--mount=…"] "make")`. */
export function dumpAst(ast: RootfileAst): string {
  const one = (i: InstructionNode): string => {
    let s = i.keyword.toLowerCase();
    if (i.flags.length > 0) s += ` [${i.flags.map((f) => JSON.stringify(f.raw)).join(' ')}]`;
    if (i.inner) s += ` (${one(i.inner)})`;
    for (const a of i.args) s += ` ${JSON.stringify(a.value)}`;
    for (const h of i.heredocs) s += `\n    <<${h.name}: ${JSON.stringify(h.content)}`;
    return s;
  };
  return ast.instructions.map((i) => `${String(i.range.start.line).padStart(4)} (${one(i)})`).join('\n');
}
