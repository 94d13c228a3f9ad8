/**
 * The shared-library closure of ELF programs inside a root (an image's rootfs, or `/` for
 * COPY --from=host --deps), resolved the way glibc's ld.so does: DT_RPATH (when there is no DT_RUNPATH),
 * DT_RUNPATH, /etc/ld.so.conf (with its `include` globs), then the default directories; `$ORIGIN`,
 * `$LIB` and `$PLATFORM` expanded; candidates of the wrong ELF class or machine skipped. Every lookup
 * is resolved inside the root. The result keeps symlink chains (files and directories) as symlinks.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { byteOrder } from '../context/context.js';
import { goMatch, hasWildcards } from '../context/patterns.js';
import { cleanImagePath, resolveInRoot } from '../fsutil/securejoin.js';
import { ElfError, type ElfInfo, isElf, readElf } from './elf.js';

export type DepEntry = { path: string; kind: 'file' } | { path: string; kind: 'symlink'; target: string };

export class DepsError extends Error {}

export interface DepsResult {
  /** Entries to copy, in a stable order: symlinks and files at their image paths. */
  entries: DepEntry[];
  /** Libraries found, by soname, for messages and tests. */
  libraries: Map<string, string>;
}

/** Resolves the closure of `programs` (image paths inside `root`). Throws DepsError naming the chain. */
export function resolveDeps(root: string, programs: readonly string[]): DepsResult {
  const resolver = new Resolver(root);
  for (const program of programs) resolver.addProgram(cleanImagePath(program));
  return { entries: resolver.entries(), libraries: resolver.libraries };
}

class Resolver {
  readonly libraries = new Map<string, string>();
  private readonly files = new Set<string>();
  private readonly links = new Map<string, string>();
  private readonly done = new Set<string>();
  private confDirs: string[] | undefined;

  constructor(private readonly root: string) {}

  addProgram(imagePath: string): void {
    const real = this.follow(imagePath);
    const host = resolveInRoot(this.root, real);
    if (!isElf(host))
      throw new DepsError(`${imagePath}: not an ELF file (COPY --deps needs executables or libraries)`);
    this.visit(real, [imagePath], undefined);
  }

  entries(): DepEntry[] {
    const out: DepEntry[] = [];
    for (const [p, target] of [...this.links].sort(([a], [b]) => byteOrder(a, b)))
      out.push({ path: p, kind: 'symlink', target });
    for (const p of [...this.files].sort(byteOrder)) out.push({ path: p, kind: 'file' });
    return out;
  }

  private visit(real: string, chain: string[], mainRpath: string[] | undefined): void {
    if (this.done.has(real)) return;
    this.done.add(real);
    let info: ElfInfo;
    try {
      info = readElf(resolveInRoot(this.root, real));
    } catch (err) {
      if (err instanceof ElfError) throw new DepsError(`${chain.join(' → ')}: ${err.message}`);
      throw err;
    }
    if (info.interpreter) {
      const interpReal = this.follow(info.interpreter);
      if (!isElf(resolveInRoot(this.root, interpReal))) {
        throw new DepsError(`${chain.join(' → ')} → ${info.interpreter}: program interpreter not found`);
      }
      this.done.add(interpReal);
    }
    // DT_RPATH of the executable applies to all its dependencies unless they have DT_RUNPATH.
    const inheritedRpath =
      mainRpath ?? (info.runpath.length === 0 ? this.expand(info.rpath, real, info) : []);
    for (const name of info.needed) {
      const found = this.find(name, real, info, inheritedRpath);
      if (!found) throw new DepsError(`${[...chain, name].join(' → ')}: not found`);
      this.libraries.set(name, found);
      const libReal = this.follow(found);
      this.visit(libReal, [...chain, name], inheritedRpath);
    }
  }

  private find(name: string, objPath: string, info: ElfInfo, inheritedRpath: string[]): string | undefined {
    if (name.includes('/')) return this.candidate(name, info) ? name : undefined;
    const dirs = [
      ...(info.runpath.length === 0 ? [...this.expand(info.rpath, objPath, info), ...inheritedRpath] : []),
      ...this.expand(info.runpath, objPath, info),
      ...this.ldSoConfDirs(),
      ...(info.class === 64 ? ['/lib64', '/usr/lib64'] : []),
      '/lib',
      '/usr/lib',
    ];
    for (const dir of dirs) {
      const p = cleanImagePath(path.posix.join(dir, name));
      if (this.candidate(p, info)) return p;
    }
    return undefined;
  }

  /** A library file exists at p (inside the root) and matches the object's ELF class and machine. */
  private candidate(p: string, want: ElfInfo): boolean {
    const host = resolveInRoot(this.root, p, { followFinal: true });
    try {
      if (!lstatSync(host).isFile()) return false;
      const info = readElf(host);
      return info.class === want.class && info.machine === want.machine;
    } catch {
      return false;
    }
  }

  private expand(dirs: string[], objPath: string, info: ElfInfo): string[] {
    const origin = path.posix.dirname(objPath);
    const lib = info.class === 64 ? 'lib64' : 'lib';
    return dirs.map((d) =>
      d
        .replace(/\$(\{ORIGIN\}|ORIGIN)/g, origin)
        .replace(/\$(\{LIB\}|LIB)/g, lib)
        .replace(
          /\$(\{PLATFORM\}|PLATFORM)/g,
          info.machine === 62 ? 'x86_64' : info.machine === 183 ? 'aarch64' : '',
        ),
    );
  }

  private ldSoConfDirs(): string[] {
    if (this.confDirs) return this.confDirs;
    const dirs: string[] = [];
    const seen = new Set<string>();
    const readConf = (file: string, depth: number) => {
      if (depth > 8 || seen.has(file)) return;
      seen.add(file);
      let text: string;
      try {
        text = readFileSync(resolveInRoot(this.root, file, { followFinal: true }), 'utf8');
      } catch {
        return;
      }
      for (const raw of text.split('\n')) {
        const line = raw.replace(/#.*/, '').trim();
        if (!line) continue;
        const inc = /^include\s+(.+)$/.exec(line);
        if (inc) {
          for (const pattern of inc[1]!.split(/\s+/)) {
            const abs = pattern.startsWith('/')
              ? pattern
              : path.posix.join(path.posix.dirname(file), pattern);
            for (const f of this.glob(abs)) readConf(f, depth + 1);
          }
        } else if (line.startsWith('/')) {
          for (const d of line.split(/[:\s,]+/)) if (d.startsWith('/')) dirs.push(d);
        }
      }
    };
    readConf('/etc/ld.so.conf', 0);
    this.confDirs = dirs;
    return dirs;
  }

  private glob(pattern: string): string[] {
    const dir = path.posix.dirname(pattern);
    const base = path.posix.basename(pattern);
    if (!hasWildcards(base)) return [pattern];
    try {
      return readdirSync(resolveInRoot(this.root, dir, { followFinal: true }))
        .filter((n) => goMatch(base, n))
        .sort(byteOrder)
        .map((n) => path.posix.join(dir, n));
    } catch {
      return [];
    }
  }

  /**
   * Follows `imagePath` to the real file, recording every symlink met (in directories too) so the copy
   * can recreate the same chain. Returns the real image path.
   */
  private follow(imagePath: string): string {
    let pending = cleanImagePath(imagePath).split('/').filter(Boolean);
    let resolved: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      if (part === '.') continue;
      const current = `/${[...resolved, part].join('/')}`;
      const host = path.join(path.resolve(this.root), current);
      let isLink = false;
      try {
        isLink = lstatSync(host).isSymbolicLink();
      } catch {
        resolved.push(part);
        continue;
      }
      if (!isLink) {
        resolved.push(part);
        continue;
      }
      if (++hops > 40) throw new DepsError(`${imagePath}: too many levels of symbolic links`);
      const target = readlinkSync(host);
      this.links.set(current, target);
      if (target.startsWith('/')) resolved = [];
      pending = [...target.split('/').filter(Boolean), ...pending];
    }
    const real = `/${resolved.join('/')}`;
    this.files.add(real);
    return real;
  }
}
