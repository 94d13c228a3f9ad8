/**
 * Docker's path patterns, ported from moby/patternmatcher (the .dockerignore matcher BuildKit uses) and
 * Go's path.Match (COPY/ADD source wildcards). Paths are `/`-separated and relative to the context.
 */

type MatchKind = 'exact' | 'prefix' | 'suffix' | 'regexp';

interface CompiledPattern {
  cleaned: string;
  exclusion: boolean;
  kind: MatchKind;
  regexp?: RegExp;
}

const REGEX_SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

/** Go's filepath.Clean for `/`-separated relative or absolute paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

function compile(cleaned: string): Pick<CompiledPattern, 'kind' | 'regexp'> {
  let re = '^';
  let kind: MatchKind = 'exact';
  const chars = [...cleaned];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        const first = i === 0;
        i++;
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) {
          if (kind === 'exact') kind = 'prefix';
          else {
            re += '.*';
            kind = 'regexp';
          }
        } else {
          re += '(.*/)?';
          kind = 'regexp';
        }
        if (first) kind = 'suffix';
      } else {
        re += '[^/]*';
        kind = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      kind = 'regexp';
    } else if (REGEX_SPECIAL.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      if (i + 1 < chars.length) {
        re += `\\${chars[++i]}`;
        kind = 'regexp';
      } else re += '\\\\';
    } else if (ch === '[' || ch === ']') {
      re += ch;
      kind = 'regexp';
    } else {
      re += ch;
    }
  }
  if (kind !== 'regexp') return { kind };
  try {
    return { kind, regexp: new RegExp(`${re}$`, 'su') };
  } catch {
    throw new Error(`syntax error in pattern "${cleaned}"`);
  }
}

/** A .dockerignore-style matcher: later patterns win, `!` re-includes, a match on a parent dir counts. */
export class PatternMatcher {
  private readonly patterns: CompiledPattern[] = [];
  readonly hasExclusions: boolean;

  constructor(patterns: readonly string[]) {
    let exclusions = false;
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new Error('illegal exclusion pattern: "!"');
        exclusion = true;
        exclusions = true;
        p = p.slice(1);
      }
      goMatch(p, '.'); // syntax check, as moby does with filepath.Match
      this.patterns.push({ cleaned: p, exclusion, ...compile(p) });
    }
    this.hasExclusions = exclusions;
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * For a walk (moby's MatchesUsingParentResults): which patterns match `file` itself or one of its parent
   * directories, given the same for its parent directory (`parent`, undefined at the top). One test per
   * pattern per path, where `matches` tests every pattern against every ancestor again.
   */
  matchInfo(file: string, parent: readonly boolean[] | undefined): boolean[] {
    const info = new Array<boolean>(this.patterns.length);
    for (let i = 0; i < this.patterns.length; i++)
      info[i] = (parent !== undefined && parent[i] === true) || matchOne(this.patterns[i]!, file);
    return info;
  }

  /** `matchInfo` of every directory from the top down to `dir` (a walk that starts below the top). */
  matchInfoOfPath(dir: string): boolean[] | undefined {
    if (dir === '' || dir === '.') return undefined;
    let info: boolean[] | undefined;
    let at = 0;
    for (;;) {
      const slash = dir.indexOf('/', at);
      info = this.matchInfo(slash < 0 ? dir : dir.slice(0, slash), info);
      if (slash < 0) return info;
      at = slash + 1;
    }
  }

  /** Whether a path whose `matchInfo` is `info` is excluded: the last pattern that matches decides. */
  excludedBy(info: readonly boolean[]): boolean {
    let matched = false;
    for (let i = 0; i < this.patterns.length; i++) if (info[i]) matched = !this.patterns[i]!.exclusion;
    return matched;
  }

  /** MatchesOrParentMatches: true when `file` (or one of its parent dirs) is excluded from the context. */
  matches(file: string): boolean {
    let matched = false;
    const parent = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    const parentDirs = parent === '.' ? [] : parent.split('/');
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      let match = matchOne(pattern, file);
      if (!match) {
        for (let i = 0; i < parentDirs.length && !match; i++)
          match = matchOne(pattern, parentDirs.slice(0, i + 1).join('/'));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }
}

function matchOne(p: CompiledPattern, path: string): boolean {
  switch (p.kind) {
    case 'exact':
      return path === p.cleaned;
    case 'prefix':
      return path.startsWith(p.cleaned.slice(0, -2));
    case 'suffix': {
      const suffix = p.cleaned.slice(2);
      if (path.endsWith(suffix)) return true;
      return suffix.startsWith('/') && path === suffix.slice(1);
    }
    case 'regexp':
      return p.regexp!.test(path);
  }
}

/** Parses a .dockerignore file: `#` comments, blank lines, leading `/` removed, paths cleaned. */
export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    let p = line.trim();
    if (p === '') continue;
    let invert = false;
    if (p.startsWith('!')) {
      invert = true;
      p = p.slice(1).trim();
    }
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.startsWith('/')) p = p.slice(1) || '.';
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

/**
 * Go's path.Match: `*` any run of non-`/`, `?` one non-`/`, `[…]` classes with `^`/`!` negation and
 * ranges, `\` escapes. Throws on a malformed pattern (ErrBadPattern).
 */
export function goMatch(pattern: string, name: string): boolean {
  return goMatchRegex(pattern).test(name);
}

const goRegexCache = new Map<string, RegExp>();

function goMatchRegex(pattern: string): RegExp {
  const cached = goRegexCache.get(pattern);
  if (cached) return cached;
  let re = '^';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '\\') {
      if (i + 1 >= chars.length) throw new Error(`syntax error in pattern "${pattern}"`);
      re += escapeRegex(chars[++i]!, false);
    } else if (ch === '[') {
      let j = i + 1;
      let cls = '';
      if (chars[j] === '^' || chars[j] === '!') {
        cls += '^';
        j++;
      }
      let closed = false;
      let first = true;
      while (j < chars.length) {
        const c = chars[j]!;
        if (c === ']' && !first) {
          closed = true;
          break;
        }
        first = false;
        if (c === '\\') {
          j++;
          if (j >= chars.length) break;
          cls += escapeRegex(chars[j]!);
        } else if (c === '-') {
          cls += '-';
        } else if (c === '/') {
          throw new Error(`syntax error in pattern "${pattern}"`);
        } else cls += escapeRegex(c);
        j++;
      }
      if (!closed || cls === '' || cls === '^') throw new Error(`syntax error in pattern "${pattern}"`);
      re += cls.startsWith('^') ? `(?!/)[${cls}]` : `[${cls}]`;
      i = j;
    } else re += escapeRegex(ch, false);
  }
  const compiled = new RegExp(`${re}$`, 'su');
  goRegexCache.set(pattern, compiled);
  return compiled;
}

/** Outside a class, `\-` is an invalid escape under the `u` flag (a literal `-` needs none). */
function escapeRegex(ch: string, inClass = true): string {
  if (!inClass && ch === '-') return ch;
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

/** True when the pattern has wildcard characters that Go's path.Match interprets. */
export function hasWildcards(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}
