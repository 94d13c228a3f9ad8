import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const cache = new Map<string, string | undefined>();
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Absolute path of a host tool (util-linux `unshare`, `setpriv`, coreutils `env`…), looked up once in
 * PATH and the system directories. The sandbox execs host tools by absolute path only, so a rootfs's own
 * binaries are never run outside the chroot.
 */
export function findHostTool(name: string): string | undefined {
  if (cache.has(name)) return cache.get(name);
  let found: string | undefined;
  const dirs = `${process.env.PATH ?? ''}:${SYSTEM_PATH}`.split(':').filter((d) => d.startsWith('/'));
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      found = candidate;
      break;
    } catch {
      // not here
    }
  }
  cache.set(name, found);
  return found;
}
