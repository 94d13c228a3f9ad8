import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { resolveInRoot } from '../fsutil/securejoin.js';

/** A user as a RUN step (or `COPY --chown`) runs it: ids resolved inside the image, never on the host. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Home directory from the image's /etc/passwd (`/` when the user is numeric and unknown, as Docker). */
  home: string;
  /** Supplementary groups: every group of the image's /etc/group listing the user as a member (runc). */
  groups: number[];
}

const NUMERIC = /^[0-9]+$/;
const MAX_ID = 2 ** 32 - 2;

/**
 * Resolves a Docker `USER` value (`name`, `uid`, `name:group`, `uid:gid`, …) against the image's own
 * /etc/passwd and /etc/group, read through `resolveInRoot` so a planted symlink cannot point at the
 * host's files. Rules follow Docker/runc (`user.GetExecUser`): a numeric user need not exist; a name
 * must; without a group the user's primary group from passwd is used (0 when unknown).
 */
export async function resolveUser(rootfs: string, spec: string | undefined): Promise<ResolvedUser> {
  const value = (spec ?? '').trim();
  if (value === '') return { uid: 0, gid: 0, home: '/root', groups: [] };
  const colon = value.indexOf(':');
  const userPart = colon >= 0 ? value.slice(0, colon) : value;
  const groupPart = colon >= 0 ? value.slice(colon + 1) : undefined;

  const passwd = await readColonFile(rootfs, '/etc/passwd');
  let uid: number;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  const byName = passwd.find((f) => f[0] === userPart);
  if (NUMERIC.test(userPart)) {
    uid = parseId(userPart, 'user');
    const entry = passwd.find((f) => f[2] === userPart);
    if (entry) {
      gid = parseId(entry[3] ?? '0', 'group');
      home = entry[5] || '/';
      name = entry[0];
    }
  } else if (byName) {
    uid = parseId(byName[2] ?? '', 'user');
    gid = parseId(byName[3] ?? '0', 'group');
    home = byName[5] || '/';
    name = userPart;
  } else {
    throw new DiagnosticError(
      error(
        'build/unknown-user',
        passwd.length === 0
          ? `unable to find user ${userPart}: the image has no /etc/passwd (use a numeric uid)`
          : `unable to find user ${userPart}: no matching entries in the image's /etc/passwd`,
      ),
    );
  }

  const groupDb = await readColonFile(rootfs, '/etc/group');
  const groups: number[] = [];
  if (name !== undefined) {
    for (const g of groupDb) {
      if ((g[3] ?? '').split(',').includes(name) && NUMERIC.test(g[2] ?? '')) {
        const id = parseId(g[2]!, 'group');
        if (!groups.includes(id)) groups.push(id);
      }
    }
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) gid = parseId(groupPart, 'group');
    else {
      const g = groupDb.find((f) => f[0] === groupPart);
      if (!g) {
        throw new DiagnosticError(
          error(
            'build/unknown-group',
            `unable to find group ${groupPart}: no matching entries in the image's /etc/group`,
          ),
        );
      }
      gid = parseId(g[2] ?? '', 'group');
    }
  }
  if (uid === 0 && home === '/') home = byName?.[5] || '/root';
  return { uid, gid, home, groups };
}

function parseId(text: string, what: string): number {
  const n = Number(text);
  if (!NUMERIC.test(text) || !Number.isSafeInteger(n) || n > MAX_ID) {
    throw new DiagnosticError(error('build/invalid-id', `invalid ${what} id "${text}"`));
  }
  return n;
}

/** Reads a colon-separated database of the image (passwd, group) line by line; missing file → []. */
async function readColonFile(rootfs: string, imagePath: string): Promise<string[][]> {
  const hostPath = resolveInRoot(rootfs, imagePath, { followFinal: true });
  try {
    const st = await lstat(hostPath);
    if (!st.isFile()) return [];
  } catch {
    return [];
  }
  const rows: string[][] = [];
  const lines = createInterface({
    input: createReadStream(hostPath, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  for await (const line of lines) {
    if (line === '' || line.startsWith('#')) continue;
    rows.push(line.split(':'));
  }
  return rows;
}
