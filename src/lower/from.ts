/**
 * FROM: the stage's base (scratch, a previous stage, rootc's source kinds, or a registry image), its
 * `AS` name and `--platform`, expanded with the global ARGs only (Docker's rule for FROM lines).
 */
import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { Arg, Flag, FromClause } from '../syntax/ast.js';
import { at, type Located, type Reporter } from './context.js';
import { expandWord } from './expand.js';
import { type FlagKind, parseFlags } from './flags.js';
import type { Base, Origin } from './ir.js';
import { normalizeImageRef } from './reference.js';
import { closest } from './suggest.js';
import { isUrl, parsePlatform, parseSha256 } from './values.js';

type Kind = FromClause['kind'];

/** The flags of each FROM kind (besides --platform); exported for the language server's completion. */
export const KIND_FLAGS: Record<Kind, Record<string, FlagKind>> = {
  image: {},
  scratch: {},
  tarball: { sha256: 'string' },
  stage3: { digests: 'string', keyring: 'string' },
  debootstrap: { variant: 'string', mirror: 'string', include: 'string' },
  'docker-archive': {},
  oci: {},
  aci: {},
};

const SOURCE_KINDS = new Set<string>(['tarball', 'stage3', 'debootstrap', 'docker-archive', 'oci', 'aci']);
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export interface FromResult {
  /** Undefined when the FROM line has errors. */
  base: Base | undefined;
  name?: string;
  nameRange?: SourceRange;
  platform?: string;
  /** The image reference or path as written (after expansion), for messages. */
  source: string;
}

interface Clause {
  kind: Kind;
  source: Arg;
  stageName?: Arg;
  flags: Flag[];
}

/** The FROM clause from the parser, or computed from the words when the parser gave none. */
function clauseOf(located: Located, r: Reporter): Clause | undefined {
  const n = located.node;
  if (n.from) {
    return {
      kind: n.from.kind,
      source: n.from.source,
      ...(n.from.stageName ? { stageName: n.from.stageName } : {}),
      flags: n.flags,
    };
  }
  const flags = [...n.flags];
  const words: Arg[] = [];
  for (const a of n.args) {
    const m = /^--([A-Za-z0-9][A-Za-z0-9-]*)(?:=(.*))?$/s.exec(a.raw);
    if (m && words.length > 0) flags.push({ name: m[1]!, value: m[2], raw: a.raw, range: a.range });
    else words.push(a);
  }
  if (words.length === 0) {
    r.error(
      'lower/missing-argument',
      'FROM requires a base: an image, a stage, scratch, or a source kind',
      at(located, n.keywordRange),
    );
    return undefined;
  }
  const first = words[0]!.value.toLowerCase();
  let kind: Kind = first === 'scratch' ? 'scratch' : 'image';
  let rest = words.slice(1);
  let source = words[0]!;
  if (SOURCE_KINDS.has(first) && words.length >= 2 && words[1]!.value.toLowerCase() !== 'as') {
    kind = first as Kind;
    source = words[1]!;
    rest = words.slice(2);
  }
  if (rest.length === 0) return { kind, source, flags };
  if (rest.length === 2 && rest[0]!.value.toLowerCase() === 'as')
    return { kind, source, stageName: rest[1]!, flags };
  r.error(
    'lower/bad-argument',
    'FROM takes a base and an optional "AS name"',
    at(located, { start: rest[0]!.range.start, end: rest[rest.length - 1]!.range.end }),
  );
  return undefined;
}

export function lowerFrom(
  located: Located,
  r: Reporter,
  globals: ReadonlyMap<string, string>,
  escapeToken: string,
  previousStages: ReadonlyMap<string, string>,
): FromResult {
  const clause = clauseOf(located, r);
  if (!clause) return { base: undefined, source: '' };
  let failed = false;
  const expand = (text: string, range: SourceRange): string => {
    const res = expandWord(text, globals, { escapeToken });
    if (!res.ok) {
      r.error(
        res.required ? 'lower/required-variable' : 'lower/bad-substitution',
        res.message,
        at(located, range),
      );
      failed = true;
      return '';
    }
    for (const name of res.unmatchedBare) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
      const guess = closest(name, globals.keys());
      r.warning(
        'lower/undefined-arg-in-from',
        `FROM uses "$${name}", which is not an ARG declared before the first FROM: it expands to an empty string${guess ? ` (did you mean $${guess}?)` : ''}`,
        at(located, range),
        guess ? { suggestion: guess } : {},
      );
    }
    return res.value;
  };

  const result: FromResult = { base: undefined, source: '' };
  if (clause.stageName) {
    const raw = clause.stageName.value;
    const name = raw.toLowerCase();
    if (!STAGE_NAME.test(name)) {
      r.error(
        'lower/bad-stage-name',
        `invalid stage name "${raw}": it must start with a letter and contain only letters, digits, "-", "_" and "."`,
        at(located, clause.stageName.range),
      );
      failed = true;
    } else if (name === 'host') {
      r.error(
        'lower/bad-stage-name',
        '"host" is reserved (COPY --from=host copies from the host)',
        at(located, clause.stageName.range),
      );
      failed = true;
    } else {
      if (name === 'scratch' || name === 'context') {
        r.warning(
          'lower/reserved-stage-name',
          `stage name "${name}" is reserved by Docker`,
          at(located, clause.stageName.range),
        );
      }
      result.name = name;
      result.nameRange = clause.stageName.range;
    }
  }

  const flags = parseFlags(
    { keyword: located.node.keyword, flags: clause.flags },
    { platform: 'string', ...KIND_FLAGS[clause.kind] },
  );
  for (const p of flags.problems) {
    r.error(p.code, p.message, at(located, p.flag.range), p.suggestion ? { suggestion: p.suggestion } : {});
    failed = true;
  }
  const flag = (name: string): { value: string; range: SourceRange } | undefined => {
    const f = flags.strings.get(name);
    return f ? { value: expand(f.value, f.flag.range), range: f.flag.range } : undefined;
  };
  const platform = flag('platform');
  if (platform) {
    const p = parsePlatform(platform.value);
    if (!p.ok) {
      r.error('lower/bad-flag-value', p.message, at(located, platform.range));
      failed = true;
    } else result.platform = p.value;
  }

  const source = expand(clause.source.raw, clause.source.range);
  result.source = source;
  if (failed) return result;
  if (source === '') {
    r.error(
      'lower/bad-argument',
      `base name (${clause.source.raw}) should not be blank`,
      at(located, clause.source.range),
    );
    return result;
  }
  const origin = (text: string): Origin =>
    isUrl(text) ? { type: 'url', url: text } : { type: 'path', path: text };
  const splitRef = (text: string): { path: string; reference?: string } => {
    const i = text.indexOf(':');
    return i > 0 ? { path: text.slice(0, i), reference: text.slice(i + 1) } : { path: text };
  };

  switch (clause.kind) {
    case 'scratch':
    case 'image': {
      if (source === 'scratch') {
        result.base = { kind: 'scratch' };
        break;
      }
      const stage = previousStages.get(source.toLowerCase());
      if (stage !== undefined) {
        result.base = { kind: 'stage', stage };
        break;
      }
      const ref = normalizeImageRef(source);
      if (!ref.ok) {
        const guess = closest(source, previousStages.keys());
        r.error(
          'lower/bad-image-ref',
          `${ref.message}${guess ? ` (did you mean stage ${guess}?)` : ''}`,
          at(located, clause.source.range),
          guess ? { suggestion: guess } : {},
        );
        break;
      }
      result.base = { kind: 'image', ref: ref.value, original: source };
      break;
    }
    case 'tarball': {
      const sha = flag('sha256');
      let sha256: string | undefined;
      if (sha) {
        const c = parseSha256(sha.value);
        if (!c.ok) {
          r.error('lower/bad-flag-value', c.message, at(located, sha.range));
          break;
        }
        sha256 = c.value;
      }
      result.base = { kind: 'tarball', source: origin(source), ...(sha256 ? { sha256 } : {}) };
      break;
    }
    case 'stage3': {
      const digests = flag('digests');
      const keyring = flag('keyring');
      result.base = {
        kind: 'stage3',
        source: origin(source),
        ...(digests ? { digests: origin(digests.value) } : {}),
        ...(keyring ? { keyring: keyring.value } : {}),
      };
      break;
    }
    case 'debootstrap': {
      const variant = flag('variant');
      const mirror = flag('mirror');
      const include = flag('include');
      if (mirror && !/^(https?|file):\/\//.test(mirror.value)) {
        r.error(
          'lower/bad-flag-value',
          `invalid --mirror "${mirror.value}": expected an http(s):// or file:// URL`,
          at(located, mirror.range),
        );
        break;
      }
      result.base = {
        kind: 'debootstrap',
        suite: source,
        ...(variant ? { variant: variant.value } : {}),
        ...(mirror ? { mirror: mirror.value } : {}),
        include: include
          ? include.value
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s !== '')
          : [],
      };
      break;
    }
    case 'docker-archive':
    case 'oci': {
      const { path, reference } = splitRef(source);
      result.base = { kind: clause.kind, path, ...(reference ? { reference } : {}) };
      break;
    }
    case 'aci':
      result.base = { kind: 'aci', path: source };
      break;
  }
  return result;
}
