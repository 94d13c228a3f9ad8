import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { setOwner } from '../fsutil/owner.js';
import { resolveInRoot } from '../fsutil/securejoin.js';

/**
 * Makes sure the image directory `imagePath` exists in `rootfs`, resolving symlinks inside the root.
 * Missing components are created 0755 and owned by `owner`, as BuildKit does for WORKDIR (the directory
 * belongs to the USER in effect). Returns the host path. Used by RUN and by the WORKDIR instruction.
 */
export async function ensureWorkdir(
  rootfs: string,
  imagePath: string,
  owner: { uid: number; gid: number },
): Promise<string> {
  const hostPath = resolveInRoot(rootfs, imagePath, { followFinal: true });
  const root = path.resolve(rootfs);
  const missing: string[] = [];
  let cur = hostPath;
  while (cur !== root) {
    try {
      const st = await lstat(cur);
      if (!st.isDirectory()) {
        throw new DiagnosticError(
          error(
            'build/workdir-not-directory',
            `working directory ${imagePath} is not a directory in the image`,
          ),
        );
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.unshift(cur);
      cur = path.dirname(cur);
    }
  }
  for (const dir of missing) {
    await mkdir(dir, { mode: 0o755 });
    setOwner(dir, owner.uid, owner.gid);
  }
  return hostPath;
}
