import { execFile } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { singleIdMapping } from '../fsutil/owner.js';
import { inUserNamespace } from '../sandbox/namespace.js';
import { CopyDriver } from './copy.js';
import { isOpaqueDir, isWhiteoutStat } from './diffdir.js';
import { OverlayDriver } from './overlay.js';
import type { SnapshotDriver, SnapshotKind } from './types.js';

const execFileP = promisify(execFile);

/** Environment override of the probe: `ROOTC_SNAPSHOTTER=overlay|copy`. */
export const SNAPSHOTTER_ENV = 'ROOTC_SNAPSHOTTER';

/**
 * Whether overlayfs works here the way the overlay driver needs: mounted with our options under `root`
 * (same filesystem as the snapshots), a deletion leaves a 0/0 whiteout and a directory removed and made
 * again is marked opaque in the upper dir. Anything else → the copy driver. Must run in the build namespace.
 */
export async function detectDriver(root: string): Promise<SnapshotKind> {
  const forced = process.env[SNAPSHOTTER_ENV];
  if (forced === 'overlay' || forced === 'copy') return forced;
  if (forced) {
    throw new DiagnosticError(
      error('build/bad-snapshotter', `${SNAPSHOTTER_ENV} must be "overlay" or "copy", not "${forced}"`),
    );
  }
  const probe = path.join(root, 'tmp', `${process.pid}-probe-${Date.now().toString(36)}`);
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) =>
    path.join(probe, d),
  ) as [string, string, string, string];
  let mounted = false;
  try {
    for (const d of [lower, upper, work, merged]) await mkdir(d, { recursive: true });
    await mkdir(path.join(lower, 'd'));
    await writeFile(path.join(lower, 'f'), 'x');
    await writeFile(path.join(lower, 'd', 'g'), 'x');
    const userxattr = inUserNamespace();
    const opts = `lowerdir=${lower},upperdir=${upper},workdir=${work},metacopy=off,index=off,${userxattr ? 'userxattr,redirect_dir=nofollow' : 'redirect_dir=off'}`;
    // volatile where the kernel has it: unmounting otherwise syncs the whole filesystem (see overlay.ts).
    await execFileP('mount', ['-t', 'overlay', 'overlay', '-o', `${opts},volatile`, merged]).catch(() =>
      execFileP('mount', ['-t', 'overlay', 'overlay', '-o', opts, merged]),
    );
    mounted = true;
    await rm(path.join(merged, 'f'));
    await rm(path.join(merged, 'd'), { recursive: true });
    await mkdir(path.join(merged, 'd'));
    await execFileP('umount', [merged]);
    mounted = false;
    const ok =
      isWhiteoutStat(lstatSync(path.join(upper, 'f'))) && isOpaqueDir(path.join(upper, 'd'), userxattr);
    return ok ? 'overlay' : 'copy';
  } catch {
    return 'copy';
  } finally {
    if (mounted) await execFileP('umount', ['-l', merged]).catch(() => undefined);
    await rm(probe, { recursive: true, force: true });
  }
}

/**
 * The driver of `kind` with its own directory under `cacheRoot` (`<cacheRoot>/snapshots/<kind>`, or
 * `<kind>-single` in a single-id user namespace: trees whose owners are recorded in xattrs are never
 * shared with trees written under the full mapping, where each would read the other's owners wrong).
 */
export function openDriver(kind: SnapshotKind, cacheRoot: string): SnapshotDriver {
  const root = path.join(cacheRoot, 'snapshots', singleIdMapping() ? `${kind}-single` : kind);
  return kind === 'overlay' ? new OverlayDriver(root) : new CopyDriver(root);
}
