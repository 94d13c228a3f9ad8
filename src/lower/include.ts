/**
 * INCLUDE targets: a stdlib fragment by name, or a path relative to the including file. Only names
 * and paths are computed here; reading goes through the injected reader.
 */
import path from 'node:path';

/** A file as lowering knows it: its label in locations and diagnostics, and the path the reader gets. */
export interface FileRef {
  label: string;
  path: string;
}

export const STDLIB_LABEL = '<stdlib>';
export const FRAGMENT_EXTENSION = '.rootfile';

/** A bare name (no slash, no leading dot) refers to the stdlib. */
export function isStdlibName(target: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(target);
}

export function resolveInclude(target: string, including: FileRef, stdlibDir: string): FileRef {
  if (isStdlibName(target)) {
    return {
      label: `${STDLIB_LABEL}/${target}${FRAGMENT_EXTENSION}`,
      path: path.join(stdlibDir, `${target}${FRAGMENT_EXTENSION}`),
    };
  }
  if (path.posix.isAbsolute(target))
    return { label: path.posix.normalize(target), path: path.normalize(target) };
  return {
    label: path.posix.join(path.posix.dirname(including.label), target),
    path: path.join(path.dirname(including.path), target),
  };
}
