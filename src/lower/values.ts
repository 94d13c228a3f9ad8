/**
 * Validators for instruction values: modes, ports, signals, durations, users, checksums, platforms.
 * Each returns the normalized value or an error message; none throws.
 */

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const fail = <T>(message: string): Checked<T> => ({ ok: false, message });

/** `--chmod`: an octal mode (`755`, `0644`, `4755`). Symbolic modes are not supported. */
export function parseChmod(text: string): Checked<number> {
  if (!/^[0-7]{3,4}$/.test(text)) {
    return fail(
      `invalid --chmod value "${text}": expected an octal mode such as 0755 (symbolic modes are not supported)`,
    );
  }
  return ok(Number.parseInt(text, 8));
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

/**
 * One EXPOSE word: `80`, `80/tcp`, `53/udp`, `8000-8010/tcp`. Returns the ports as `port/proto`,
 * ranges expanded, as Docker's nat.ParsePortSpecs does.
 */
export function parseExposedPort(text: string): Checked<string[]> {
  const slash = text.indexOf('/');
  const portPart = slash < 0 ? text : text.slice(0, slash);
  const proto = slash < 0 ? 'tcp' : text.slice(slash + 1).toLowerCase();
  if (!PROTOCOLS.includes(proto)) {
    return fail(`invalid protocol "${text.slice(slash + 1)}" in EXPOSE ${text}: expected tcp, udp or sctp`);
  }
  if (portPart.includes(':')) {
    return fail(`invalid port "${text}": EXPOSE takes container ports only; publish host ports at run time`);
  }
  const m = /^(\d+)(?:-(\d+))?$/.exec(portPart);
  if (!m) return fail(`invalid port "${text}": expected a number from 1 to 65535, e.g. 80, 80/tcp, 53/udp`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  for (const p of [start, end]) {
    if (p < 1 || p > 65535) return fail(`invalid port ${p} in "${text}": ports range from 1 to 65535`);
  }
  if (end < start) return fail(`invalid port range "${portPart}": the end is below the start`);
  const ports: string[] = [];
  for (let p = start; p <= end; p++) ports.push(`${p}/${proto}`);
  return ok(ports);
}

/** Linux signal names and numbers (moby/sys/signal's table for linux). */
export const SIGNALS: Record<string, number> = {
  ABRT: 6,
  ALRM: 14,
  BUS: 7,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  FPE: 8,
  HUP: 1,
  ILL: 4,
  INT: 2,
  IO: 29,
  IOT: 6,
  KILL: 9,
  PIPE: 13,
  POLL: 29,
  PROF: 27,
  PWR: 30,
  QUIT: 3,
  SEGV: 11,
  STKFLT: 16,
  STOP: 19,
  SYS: 31,
  TERM: 15,
  TRAP: 5,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  USR1: 10,
  USR2: 12,
  VTALRM: 26,
  WINCH: 28,
  XCPU: 24,
  XFSZ: 25,
  RTMIN: 34,
  'RTMIN+1': 35,
  'RTMIN+2': 36,
  'RTMIN+3': 37,
  'RTMIN+4': 38,
  'RTMIN+5': 39,
  'RTMIN+6': 40,
  'RTMIN+7': 41,
  'RTMIN+8': 42,
  'RTMIN+9': 43,
  'RTMIN+10': 44,
  'RTMIN+11': 45,
  'RTMIN+12': 46,
  'RTMIN+13': 47,
  'RTMIN+14': 48,
  'RTMIN+15': 49,
  'RTMAX-14': 50,
  'RTMAX-13': 51,
  'RTMAX-12': 52,
  'RTMAX-11': 53,
  'RTMAX-10': 54,
  'RTMAX-9': 55,
  'RTMAX-8': 56,
  'RTMAX-7': 57,
  'RTMAX-6': 58,
  'RTMAX-5': 59,
  'RTMAX-4': 60,
  'RTMAX-3': 61,
  'RTMAX-2': 62,
  'RTMAX-1': 63,
  RTMAX: 64,
};

/** STOPSIGNAL: a name (`SIGTERM`, `TERM`, `sigkill`) or a number from 1 to 64. Returns it as written. */
export function parseSignal(text: string): Checked<string> {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 64) return fail(`invalid signal number ${text}`);
    return ok(text);
  }
  const name = text.toUpperCase().replace(/^SIG/, '');
  if (!(name in SIGNALS)) return fail(`invalid signal "${text}"`);
  return ok(text);
}

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** A Go duration (`30s`, `1m30s`, `1.5h`, `500ms`) in nanoseconds. */
export function parseDuration(text: string): Checked<number> {
  if (text === '0') return ok(0);
  const re = /(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null = re.exec(text);
  while (m !== null) {
    if (m[1] === '' || m[1] === '.') return fail(`invalid duration "${text}"`);
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
    if (pos === text.length) break;
    m = re.exec(text);
  }
  if (pos !== text.length || text === '')
    return fail(`invalid duration "${text}": expected e.g. 30s, 1m30s, 500ms`);
  return ok(Math.round(total));
}

/** USER and --chown: `name`, `uid`, `name:group`, `uid:gid`. */
export function parseUser(text: string, what: string): Checked<string> {
  if (text === '') return fail(`${what} must not be empty`);
  if (/\s/.test(text)) return fail(`invalid ${what} "${text}": no whitespace allowed`);
  const parts = text.split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    return fail(`invalid ${what} "${text}": expected user, user:group, uid or uid:gid`);
  }
  return ok(text);
}

/** ADD --checksum: `sha256:<64 hex>` (or sha384/sha512). */
export function parseChecksum(text: string): Checked<string> {
  const m = /^(sha256|sha384|sha512):([0-9a-f]+)$/.exec(text);
  const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  if (!m || m[2]!.length !== lengths[m[1]!]) {
    return fail(`invalid --checksum "${text}": expected sha256:<64 hex digits> (or sha384:, sha512:)`);
  }
  return ok(text);
}

/** A bare sha256 hex digest (FROM tarball --sha256). */
export function parseSha256(text: string): Checked<string> {
  const hex = text.startsWith('sha256:') ? text.slice(7) : text;
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    return fail(`invalid --sha256 "${text}": expected 64 hexadecimal digits`);
  return ok(hex.toLowerCase());
}

/** `os[/arch[/variant]]`, as containerd's platforms.Parse accepts it (lower-cased). */
export function parsePlatform(text: string): Checked<string> {
  const lower = text.toLowerCase();
  if (!/^[a-z0-9_-]+(\/[a-z0-9_-]+(\/[a-z0-9_.-]+)?)?$/.test(lower)) {
    return fail(`invalid platform "${text}": expected os/arch[/variant], e.g. linux/amd64`);
  }
  return ok(lower);
}

export function isUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

/** Git sources of ADD (not supported yet). */
export function isGitUrl(text: string): boolean {
  return /^git@|^git:\/\/|^ssh:\/\/|\.git(#.*)?$|^https?:\/\/[^/]*github\.com\/[^/]+\/[^/]+\.git/i.test(text);
}
