/**
 * `--output type=…,dest=…` specs, BuildKit's CSV syntax: `type=docker,dest=out/img.tar`, or a bare path
 * (`-o out/dir`, meaning type=local in BuildKit; here a rootfs tar when it ends in .tar, else an error).
 */
export type OutputType = 'rootfs' | 'docker' | 'oci' | 'oci-archive' | 'aci' | 'registry';

export const OUTPUT_TYPES: readonly OutputType[] = [
  'rootfs',
  'docker',
  'oci',
  'oci-archive',
  'aci',
  'registry',
];

export interface OutputSpec {
  type: OutputType;
  /** File or directory to write; not used by `registry`. */
  dest?: string;
  /** Every key=value given, including type and dest, for writer-specific options (compression, name, …). */
  attrs: Record<string, string>;
}

export function parseOutputSpec(text: string): OutputSpec {
  const attrs: Record<string, string> = {};
  if (!text.includes('=')) {
    if (text.endsWith('.tar')) return { type: 'rootfs', dest: text, attrs: { type: 'rootfs', dest: text } };
    throw new Error(`invalid --output "${text}": expected type=<${OUTPUT_TYPES.join('|')}>,dest=<path>`);
  }
  for (const field of splitCsv(text)) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw new Error(`invalid --output field "${field}": expected key=value`);
    const key = field.slice(0, eq).trim().toLowerCase();
    attrs[key] = field.slice(eq + 1).trim();
  }
  const type = attrs.type as OutputType | undefined;
  if (!type) throw new Error(`invalid --output "${text}": missing type=`);
  if (!OUTPUT_TYPES.includes(type)) {
    throw new Error(`invalid --output type "${type}": expected one of ${OUTPUT_TYPES.join(', ')}`);
  }
  if (type !== 'registry' && !attrs.dest) throw new Error(`--output type=${type} needs dest=<path>`);
  if (type === 'registry' && !attrs.name) throw new Error('--output type=registry needs name=<reference>');
  return { type, ...(attrs.dest ? { dest: attrs.dest } : {}), attrs };
}

/** Splits on commas outside double quotes, as BuildKit's csvvalue does; quotes are removed. */
function splitCsv(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new Error(`invalid --output "${text}": unterminated quote`);
  out.push(cur);
  return out.filter((f) => f.trim() !== '');
}
