/**
 * The unprivileged user for rootless tests (issue 7), made by scripts/setup.sh with subordinate
 * id ranges in /etc/subuid and /etc/subgid.
 *
 *   rootlessUser()                  → { name, uid, gid, home, subuid, subgid } | undefined
 *   runAs(user, cmd, args, opts?)   → RunResult: `runuser -u NAME -- cmd args` with HOME set to the
 *                                     user's home (the rest of the environment is inherited)
 *
 * Guard with requireTools('rootless-user', 'root'): only root can switch to it.
 */
import { readFileSync } from 'node:fs';
import { type RunOptions, type RunResult, run } from './exec.js';

export const ROOTLESS_USER = 'rootc-test';

export interface IdRange {
  start: number;
  count: number;
}

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  subuid: IdRange;
  subgid: IdRange;
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

function range(file: string, name: string, uid: number): IdRange | undefined {
  for (const line of readLines(file)) {
    const [who, start, count] = line.split(':');
    if ((who === name || who === String(uid)) && start && count)
      return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

export function rootlessUser(name = ROOTLESS_USER): TestUser | undefined {
  for (const line of readLines('/etc/passwd')) {
    const f = line.split(':');
    if (f[0] !== name || f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    const subuid = range('/etc/subuid', name, uid);
    const subgid = range('/etc/subgid', name, uid);
    if (!subuid || !subgid) return undefined;
    return { name, uid, gid, home: f[5], subuid, subgid };
  }
  return undefined;
}

export function runAs(
  user: TestUser,
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return run('runuser', ['-u', user.name, '--', cmd, ...args], {
    ...opts,
    env: { HOME: user.home, USER: user.name, LOGNAME: user.name, ...opts.env },
  });
}
