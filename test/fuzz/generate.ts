/** Deterministic random Rootfiles and mutations of real ones, for the fuzz tests. */
import { instructionNames } from '../../src/syntax/lexer.js';

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  constructor(readonly rand: () => number) {}
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
}

// Every instruction, plus words that are not instructions or only sometimes keywords.
const keywords = [...instructionNames, 'COPPY', 'AS', 'NONE'];
const pieces = [
  'a',
  'b1',
  '/usr/bin',
  'x=y',
  'k="v w"',
  "'s q'",
  '"',
  "'",
  '\\',
  '`',
  '$HOME',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Docker variable syntax, not a template
  '${X:-y}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Docker variable syntax, not a template
  '${}',
  '<<EOF',
  '<<-EOT',
  "<<'Q'",
  '2<<E',
  '[',
  ']',
  '["a", "b"]',
  '[1, 2]',
  '[ "x", [ "y" ] ]',
  '--',
  '--from=build',
  '--mount=type=cache,target=/x',
  '--flag="a b"',
  'AS',
  'as',
  'scratch',
  'tarball',
  'stage3',
  'oci',
  'CMD',
  'NONE',
  '#',
  '# c',
  '=',
  '==',
  'é',
  '\u00a0',
  '\u2028',
  '\t',
  '\r',
  '\0',
  '{',
  '}',
  '&&',
  '|',
  ';',
];

function line(g: Gen): string {
  const kw = g.pick(keywords);
  const k = g.chance(0.3) ? kw.toLowerCase() : kw;
  const words: string[] = [k];
  const n = g.int(6);
  for (let i = 0; i < n; i++) words.push(g.pick(pieces));
  let s = words.join(g.chance(0.9) ? ' ' : '\t');
  if (g.chance(0.15)) s += ` ${g.pick(['\\', '`'])}`;
  return s;
}

/** A random Rootfile: directives, instructions, continuations, comments, heredoc bodies. */
export function randomRootfile(g: Gen): string {
  const out: string[] = [];
  if (g.chance(0.1)) out.push('\ufeff');
  if (g.chance(0.2)) out.push(`# escape=${g.pick(['`', '\\', 'x', ''])}`);
  if (g.chance(0.1)) out.push(`# syntax=${g.pick(['docker/dockerfile:1', ''])}`);
  const n = 1 + g.int(12);
  for (let i = 0; i < n; i++) {
    const r = g.int(10);
    if (r === 0) out.push(g.pick(['# comment', '', '   ', '\\', '`']));
    else if (r === 1) out.push(line(g), g.pick(['EOF', 'EOT', '\tEOF', 'Q', 'x']), g.pick(['EOF', '']));
    else out.push(line(g));
  }
  const eol = g.chance(0.2) ? '\r\n' : '\n';
  return out.join(eol) + (g.chance(0.5) ? eol : '');
}

const special = [
  '\\',
  '`',
  '\n',
  '\r\n',
  '"',
  "'",
  '[',
  ']',
  '$',
  '{',
  '}',
  '<<',
  '-',
  '--',
  '#',
  '\t',
  ' ',
  '=',
  '\0',
];

/** A random edit of a real Rootfile: deletions, insertions of special characters, line shuffles, truncation. */
export function mutate(g: Gen, text: string): string {
  let s = text;
  const edits = 1 + g.int(4);
  for (let e = 0; e < edits; e++) {
    const at = g.int(s.length + 1);
    switch (g.int(6)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1 + g.int(8));
        break;
      case 1:
      case 2:
        s = s.slice(0, at) + g.pick(special) + s.slice(at);
        break;
      case 3: {
        const lines = s.split('\n');
        const i = g.int(lines.length);
        lines.splice(g.int(lines.length), 0, lines[i]!);
        s = lines.join('\n');
        break;
      }
      case 4:
        s = s.slice(0, at);
        break;
      default: {
        const lines = s.split('\n');
        const i = g.int(lines.length);
        const j = g.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\n');
      }
    }
  }
  return s;
}
