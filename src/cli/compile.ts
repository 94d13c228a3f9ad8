/**
 * Compile a Rootfile text the way rootc does (parse + lower, INCLUDEs read from disk relative to the
 * file, the stdlib from rootc's own directory, the host's platform). One code path for `rootc check`,
 * `ir`, `build` and the language server, which compiles the editor's unsaved text with it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CompileOptions, compileRootfile, type Platform } from '../lower/index.js';

/** The stdlib fragments shipped with rootc (`stdlib/<name>.rootfile`). */
export const STDLIB_DIR = fileURLToPath(new URL('../../stdlib/', import.meta.url));

export function stdlibNames(dir = STDLIB_DIR): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.rootfile'))
      .map((f) => f.slice(0, -'.rootfile'.length))
      .sort();
  } catch {
    return [];
  }
}

/** The machine's platform, in Docker's names. */
export function hostPlatform(): Platform {
  const arch: Record<string, Platform> = {
    x64: { os: 'linux', architecture: 'amd64' },
    arm64: { os: 'linux', architecture: 'arm64' },
    arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
    ia32: { os: 'linux', architecture: '386' },
    ppc64: { os: 'linux', architecture: 'ppc64le' },
    s390x: { os: 'linux', architecture: 's390x' },
    riscv64: { os: 'linux', architecture: 'riscv64' },
  };
  return arch[process.arch] ?? { os: 'linux', architecture: process.arch };
}

function readIncluded(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface CompileFileOptions {
  buildArgs?: Record<string, string>;
  target?: string;
  baseConfig?: CompileOptions['baseConfig'];
  /** The parser (default rootc's); the language server passes one that reuses its last parse. */
  parse?: CompileOptions['parse'];
}

/**
 * Parse and lower a Rootfile's text. `name` is the file's path (INCLUDEs are read relative to it)
 * and the file name in diagnostics.
 */
export function compileText(name: string, text: string, opts: CompileFileOptions = {}) {
  return compileRootfile(name, text, {
    buildArgs: opts.buildArgs ?? {},
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    readFile: readIncluded,
    stdlibDir: STDLIB_DIR,
    stdlibNames: stdlibNames(),
    platform: hostPlatform(),
    ...(opts.baseConfig ? { baseConfig: opts.baseConfig } : {}),
    ...(opts.parse ? { parse: opts.parse } : {}),
  });
}
