/**
 * The build context: the directory COPY and ADD read from. Every path is resolved inside it (symlinks
 * included, as BuildKit's fsutil does), .rootignore/.dockerignore excludes are applied, and sources get a
 * content digest for cache keys (content, mode and link targets; never mtimes).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { FileDigestCache } from '../cache/digests.js';
import { byteOrder } from '../fsutil/order.js';
import { resolveInRoot } from '../fsutil/securejoin.js';
import { cleanPath, goMatch, hasWildcards, PatternMatcher, parseIgnoreFile } from './patterns.js';

export interface ContextEntry {
  /** Path relative to the context root, `/`-separated. */
  rel: string;
  abs: string;
  stat: Stats;
}

/** Thrown for a source that cannot be used; the interpreter turns it into a diagnostic at the step. */
export class ContextError extends Error {}

export class BuildContext {
  readonly dir: string;
  readonly ignore: PatternMatcher;
  readonly ignoreFile: string | undefined;
  /** Digests of file contents, remembered by stat identity (across builds when the cache is persistent). */
  digests: FileDigestCache = new FileDigestCache();

  constructor(dir: string, ignorePatterns: readonly string[] = [], ignoreFile?: string) {
    this.dir = path.resolve(dir);
    this.ignore = new PatternMatcher(ignorePatterns);
    this.ignoreFile = ignoreFile;
  }

  /**
   * Opens a context dir with its ignore file: `<Rootfile>.rootignore`, `<Rootfile>.dockerignore` (next to
   * the Rootfile, as BuildKit allows), then `.rootignore`, then `.dockerignore` at the context root.
   */
  static open(dir: string, rootfile?: string): BuildContext {
    const candidates: string[] = [];
    if (rootfile) candidates.push(`${rootfile}.rootignore`, `${rootfile}.dockerignore`);
    candidates.push(path.join(dir, '.rootignore'), path.join(dir, '.dockerignore'));
    for (const file of candidates) {
      if (existsSync(file)) return new BuildContext(dir, parseIgnoreFile(readFileSync(file, 'utf8')), file);
    }
    return new BuildContext(dir);
  }

  /**
   * Expands one COPY/ADD source to context-relative paths. Wildcards follow Go's path.Match per
   * component; a source that leaves the context (`../x`) is refused; a source that matches nothing is
   * an error, as in Docker.
   */
  expand(source: string): string[] {
    const cleaned = cleanPath(source.startsWith('/') ? source.slice(1) || '.' : source);
    if (cleaned === '..' || cleaned.startsWith('../')) {
      throw new ContextError(`source "${source}" is outside the build context`);
    }
    if (!hasWildcards(cleaned)) {
      if (cleaned !== '.' && this.ignore.matches(cleaned)) {
        throw new ContextError(`source "${source}" is excluded by ${this.ignoreFile ?? 'the ignore file'}`);
      }
      const abs = resolveInRoot(this.dir, cleaned, { followFinal: true });
      if (!existsSync(abs)) throw new ContextError(`source "${source}" not found in the build context`);
      return [cleaned];
    }
    const parts = cleaned.split('/');
    let current = [''];
    for (const part of parts) {
      const next: string[] = [];
      for (const base of current) {
        if (!hasWildcards(part)) {
          next.push(base ? `${base}/${part}` : part);
          continue;
        }
        const absDir = resolveInRoot(this.dir, base || '.', { followFinal: true });
        let names: string[];
        try {
          names = readdirSync(absDir);
        } catch {
          continue;
        }
        for (const name of names.sort()) if (goMatch(part, name)) next.push(base ? `${base}/${name}` : name);
      }
      current = next;
    }
    const found = current.filter(
      (rel) => existsSync(resolveInRoot(this.dir, rel, { followFinal: true })) && !this.ignore.matches(rel),
    );
    if (found.length === 0)
      throw new ContextError(`no source files were specified: "${source}" matches nothing`);
    return found;
  }

  /** The host path of a context-relative path, resolved inside the context. */
  resolve(rel: string, followFinal = true): string {
    return resolveInRoot(this.dir, rel, { followFinal });
  }

  /**
   * Walks a source in byte order of paths: the source itself (its final symlink followed, as Docker does
   * for a named source) and, for a directory, everything below it not excluded (symlinks not followed).
   */
  *walk(rel: string): Generator<ContextEntry> {
    const abs = this.resolve(rel, true);
    const stat = lstatSync(abs);
    yield { rel, abs, stat };
    if (stat.isDirectory()) {
      const dir = rel === '.' ? '' : rel;
      yield* this.walkDir(dir, abs, this.ignore.matchInfoOfPath(dir));
    }
  }

  /** `rel`'s entries; `info` is the ignore patterns' matchInfo of `rel` (each entry is tested once). */
  private *walkDir(rel: string, abs: string, info: boolean[] | undefined): Generator<ContextEntry> {
    const names = readdirSync(abs).sort(byteOrder);
    // `abs` is absolute and clean, a name has no `/`: joined without path.join's normalizing.
    const prefix = abs.endsWith('/') ? abs : `${abs}/`;
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const childInfo = this.ignore.matchInfo(childRel, info);
      const excluded = this.ignore.excludedBy(childInfo);
      if (excluded && !this.ignore.hasExclusions) continue;
      const childAbs = prefix + name;
      const stat = lstatSync(childAbs);
      if (!excluded) yield { rel: childRel, abs: childAbs, stat };
      // With `!` re-inclusions an excluded dir may still hold included files: descend anyway.
      if (stat.isDirectory()) yield* this.walkDir(childRel, childAbs, childInfo);
    }
  }

  /** Content digest of a set of sources: paths relative to each source, types, modes, link targets, content. */
  async digest(sources: readonly string[]): Promise<string> {
    const h = createHash('sha256');
    for (const source of sources) {
      h.update(`source\0${source}\0`);
      for (const entry of this.walk(source)) {
        const st = entry.stat;
        const sub = entry.rel === source ? '.' : entry.rel.slice(source === '.' ? 0 : source.length + 1);
        h.update(`${sub}\0${st.mode.toString(8)}\0`);
        if (st.isSymbolicLink()) h.update(`link\0${readlinkSync(entry.abs)}\0`);
        else if (st.isFile()) h.update(`file\0${await this.digests.digest(entry.abs, st)}\0`);
        else h.update('\0');
      }
    }
    return `sha256:${h.digest('hex')}`;
  }
}

export { byteOrder } from '../fsutil/order.js';
