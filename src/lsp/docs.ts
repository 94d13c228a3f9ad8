/**
 * Instruction documentation for hover, read from docs/rootfile.md at run time (one section per
 * instruction), so the editor shows exactly what the manual says. A heading that names an
 * instruction (`## RUN`, `### \`COPY\``, `## CMD and ENTRYPOINT`) starts its section; the section
 * runs to the next heading of the same or a higher level. The first section naming an instruction wins.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instructionNames } from '../syntax/index.js';

export const ROOTFILE_DOCS = fileURLToPath(new URL('../../docs/rootfile.md', import.meta.url));

export function instructionDocs(markdown: string): Map<string, string> {
  const names = new Set<string>(instructionNames);
  const lines = markdown.split(/\r?\n/);
  const headings: { line: number; level: number; names: string[] }[] = [];
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^\s*(```|~~~)/.test(l)) fence = !fence;
    if (fence) continue;
    const m = /^(#{1,6})\s+(.*)$/.exec(l);
    if (!m) continue;
    const words = m[2]!.replace(/[`*_]/g, ' ').split(/[^A-Za-z]+/);
    headings.push({ line: i, level: m[1]!.length, names: words.filter((w) => names.has(w)) });
  }
  const out = new Map<string, string>();
  headings.forEach((h, i) => {
    if (h.names.length === 0) return;
    let end = lines.length;
    for (const next of headings.slice(i + 1)) {
      if (next.level <= h.level) {
        end = next.line;
        break;
      }
    }
    const section = lines.slice(h.line, end).join('\n').trim();
    for (const n of h.names) if (!out.has(n)) out.set(n, section);
  });
  return out;
}

let cached: Map<string, string> | undefined;

/** The sections of docs/rootfile.md (empty when the file is missing), read once per process. */
export function loadInstructionDocs(path = ROOTFILE_DOCS): Map<string, string> {
  if (cached) return cached;
  try {
    cached = instructionDocs(readFileSync(path, 'utf8'));
  } catch {
    cached = new Map();
  }
  return cached;
}
