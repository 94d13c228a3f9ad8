import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { imageArchitecture } from '../image/config.js';
import { appendLayer, emptyImage } from '../image/image.js';
import { type Layer, storeLayer } from '../image/layer.js';
import { findHostTool } from '../sandbox/hosttools.js';
import { inUserNamespace } from '../sandbox/namespace.js';
import type { TarEntrySpec } from '../tar/entry.js';
import { walkTree } from '../tar/tree.js';
import { fail, findExecutable, readJson, runTool, writeJsonAtomic } from './common.js';
import type { ResolvedSource, Source, SourceContext } from './source.js';

/**
 * `FROM debootstrap <suite> [--variant=…] [--mirror=…] [--include=a,b]`: a Debian tree made by debootstrap in a
 * temp dir under the cache, turned into one layer (walkTree → storeLayer) and cached by its arguments (suite,
 * variant, mirror, packages, architecture): a second build does not run debootstrap again. The mirror defaults
 * to the host's own apt source. debootstrap needs root (real, or the build namespace's in rootless mode).
 *
 * Rootless, the build namespace's root cannot mknod, and debootstrap makes /dev/null & co. (and tests that it
 * can, in check_sane_mount). A `mknod` shim first on its PATH (`mknodShim`) makes an empty file instead, bind
 * mounts the host's node of that name over it for the run (so /dev/null works inside the chroot), and records
 * it; the walk then turns each recorded file back into its node, so the layer holds the same /dev as a root
 * build's (the placeholder scheme of tarball bases, NODE_PLACEHOLDER_XATTR, without needing user xattrs).
 */
export interface DebootstrapSpec {
  suite: string;
  variant?: string;
  mirror?: string;
  include: string[];
}

/** Bump when the way the tree becomes a layer changes. */
const LAYER_VERSION = 2;
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

/** Debian's architecture name for this machine (what `dpkg --print-architecture` says on it). */
export function debianArch(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return 'i386';
    case 'arm':
      return 'armhf';
    case 'ppc64':
      return 'ppc64el';
    default:
      return arch; // arm64, s390x, riscv64, mips64el
  }
}

interface AptSource {
  uri: string;
  suites: string[];
}

/** `deb [opts] URI suite comp…` lines of a one-line-style sources.list. */
export function parseSourcesList(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ uri: m[1]!, suites: [m[2]!] });
  }
  return out;
}

/** Stanzas of a deb822 `.sources` file (Types, URIs, Suites; `Enabled: no` skipped). */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let current: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      if (/^\s/.test(line) && current) {
        fields.set(current, `${fields.get(current)} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) {
        current = m[1]!.toLowerCase();
        fields.set(current, m[2]!.trim());
      }
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb') || (fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites });
  }
  return out;
}

/**
 * The host's apt mirror for `suite`: the first `deb` source listing that suite, else the first that is not a
 * security or updates archive (`/debian-security`, `-updates`), else Debian's CDN.
 */
export function hostMirror(suite: string, root = '/'): string {
  const sources: AptSource[] = [];
  const dir = path.join(root, 'etc/apt/sources.list.d');
  try {
    for (const f of readdirSync(dir).sort()) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      if (f.endsWith('.sources')) sources.push(...parseDeb822Sources(text));
      else if (f.endsWith('.list')) sources.push(...parseSourcesList(text));
    }
  } catch {
    // no sources.list.d
  }
  try {
    sources.push(...parseSourcesList(readFileSync(path.join(root, 'etc/apt/sources.list'), 'utf8')));
  } catch {
    // no sources.list
  }
  const usable = sources.filter((s) => /^(https?|file):\/\//.test(s.uri));
  const exact = usable.find((s) => s.suites.includes(suite));
  if (exact) return exact.uri;
  const plain = usable.find(
    (s) => !/security/.test(s.uri) && !s.suites.every((x) => /-(updates|security|backports)$/.test(x)),
  );
  return plain?.uri ?? DEFAULT_MIRROR;
}

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
function mountsBelow(dir: string): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts what debootstrap left below the target (/proc, /sys, /dev/pts binds when it failed midway). */
async function unmountBelow(dir: string): Promise<string[]> {
  for (let round = 0; round < 3; round++) {
    const points = mountsBelow(dir);
    if (points.length === 0) return [];
    for (const p of points) await runTool('umount', ['-l', p]).catch(() => undefined);
  }
  return mountsBelow(dir);
}

/** Removes the temp tree, but never through a mount (a bind of the host's /dev, say). */
async function removeTree(dir: string): Promise<void> {
  const left = await unmountBelow(dir);
  if (left.length > 0) return; // the build's mount namespace takes them; the tmp sweep removes the dir later
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The `mknod` debootstrap runs on the host side in a user namespace (see the header). Char and block nodes become
 * empty files with the asked mode, recorded as `TYPE MAJOR MINOR PATH` lines in `$ROOTC_DEBOOTSTRAP_NODES`; under a
 * directory named `dev` the host's node of the same name and numbers is bind mounted over the file while
 * debootstrap runs (its mount namespace takes the mount away). Fifos, which a user namespace may make, go to the
 * real mknod.
 */
export function mknodShim(realMknod: string): string {
  return `#!/bin/sh
# rootc: mknod for debootstrap in a user namespace, where the kernel refuses device nodes.
mode=
while [ $# -gt 0 ]; do
  case "$1" in
    -m) mode=$2; shift 2 ;;
    -m*) mode=\${1#-m}; shift ;;
    --mode=*) mode=\${1#--mode=}; shift ;;
    --) shift; break ;;
    -*) exec ${shellQuote(realMknod)} \${mode:+-m "$mode"} "$@" ;;
    *) break ;;
  esac
done
case "$2" in
  c|u) type=char ;;
  b) type=block ;;
  *) exec ${shellQuote(realMknod)} \${mode:+-m "$mode"} "$@" ;;
esac
[ $# -eq 4 ] || { echo "mknod: expected NAME TYPE MAJOR MINOR" >&2; exit 1; }
if [ -e "$1" ] || [ -L "$1" ]; then echo "mknod: $1: File exists" >&2; exit 1; fi
: > "$1" || exit 1
if [ -n "$mode" ]; then chmod "$mode" "$1" || exit 1; fi
printf '%s %d %d %s\\n' "$type" "$3" "$4" "$1" >> "$ROOTC_DEBOOTSTRAP_NODES" || exit 1
host=/dev/$(basename "$1")
if [ "$(basename "$(dirname "$1")")" = dev ] && [ "$type" = char ] && [ -c "$host" ] &&
  [ "$(stat -L -c '%t %T' "$host")" = "$(printf '%x %x' "$3" "$4")" ]; then
  mount --bind "$host" "$1" 2>/dev/null || true
fi
exit 0
`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shim's records: path → node, for the files still there as empty regular files. */
export function readNodeRecords(
  file: string,
  target: string,
): Map<string, { type: 'char' | 'block'; major: number; minor: number }> {
  const nodes = new Map<string, { type: 'char' | 'block'; major: number; minor: number }>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return nodes;
  }
  // debootstrap names nodes "$TARGET/dev/…" with the target as given; the real path too, in case it resolves it.
  const prefixes = [...new Set([target, realpathSync(target)])].map((t) => `${t.replace(/\/+$/, '')}/`);
  for (const line of text.split('\n')) {
    const m = /^(char|block) (\d+) (\d+) (.+)$/.exec(line);
    const prefix = m ? prefixes.find((p) => m[4]!.startsWith(p)) : undefined;
    if (!m || !prefix) continue;
    const rel = path.posix.normalize(m[4]!.slice(prefix.length));
    if (rel === '.' || rel.startsWith('../')) continue;
    const st = lstatSync(path.join(target, rel), { throwIfNoEntry: false });
    if (!st?.isFile()) continue; // removed again (check_sane_mount's test node) or replaced
    nodes.set(rel, { type: m[1] as 'char' | 'block', major: Number(m[2]), minor: Number(m[3]) });
  }
  return nodes;
}

/** walkTree's entries with the recorded placeholder files turned back into their nodes. */
async function* withNodes(
  entries: AsyncIterable<TarEntrySpec>,
  nodes: Map<string, { type: 'char' | 'block'; major: number; minor: number }>,
): AsyncGenerator<TarEntrySpec> {
  for await (const e of entries) {
    const node = e.type === 'file' ? nodes.get(e.path) : undefined;
    if (!node) {
      yield e;
      continue;
    }
    const { size: _size, open: _open, ...rest } = e;
    // `chunks` is not enumerable: the spread leaves it behind with size and open.
    yield { ...rest, type: node.type, devmajor: node.major, devminor: node.minor };
  }
}

interface DebootstrapIndex {
  version: number;
  args: Record<string, unknown>;
  layer: Layer;
}

export const debootstrapSource: Source<DebootstrapSpec> = {
  kind: 'debootstrap',
  async resolve(spec: DebootstrapSpec, ctx: SourceContext): Promise<ResolvedSource> {
    const loc = ctx.location;
    const arch = debianArch();
    const host = imageArchitecture();
    if (ctx.platform && (ctx.platform.architecture !== host.architecture || ctx.platform.os !== 'linux')) {
      // A foreign tree needs debootstrap --foreign and an emulator for its second stage: not done here.
      throw fail(
        'source/debootstrap-platform',
        `FROM debootstrap makes trees for this machine (linux/${host.architecture}) only, not ${ctx.platform.os}/${ctx.platform.architecture}`,
        loc,
      );
    }
    const mirror = spec.mirror ?? hostMirror(spec.suite);
    const include = [...new Set(spec.include)].sort();
    // debootstrap's tools write dates (shadow's last password change, …) from SOURCE_DATE_EPOCH, or from the
    // clock without it: always the build's epoch, and in the key, so a tree is the same on any day.
    const epoch = ctx.epoch ?? 0;
    const args = { suite: spec.suite, variant: spec.variant ?? '', mirror, include, arch, epoch };
    const key = createHash('sha256').update(JSON.stringify(args)).digest('hex');
    const compression = ctx.compression ?? 'gzip';
    const indexFile = path.join(ctx.cacheDir, 'sources', 'debootstrap', `${key}-${compression}.json`);
    const describe = `debootstrap ${spec.variant ? `--variant=${spec.variant} ` : ''}${spec.suite} ${mirror}`;

    let index = readJson<DebootstrapIndex>(indexFile);
    if (!index || index.version !== LAYER_VERSION || !ctx.store.has(index.layer.digest)) {
      const bin = findExecutable('debootstrap');
      if (!bin) {
        throw fail(
          'source/debootstrap-missing',
          'debootstrap is not installed: install the Debian package debootstrap (apt-get install debootstrap)',
          loc,
        );
      }
      if (process.getuid?.() !== 0) {
        throw fail(
          'source/debootstrap-root',
          'FROM debootstrap needs root (or rootless mode, where the build runs as root in its own user namespace)',
          loc,
        );
      }
      const tmpRoot = path.join(ctx.cacheDir, 'tmp');
      mkdirSync(tmpRoot, { recursive: true });
      // pid in the name: the tmp sweep removes trees of builds that were killed.
      const work = path.join(tmpRoot, `debootstrap-${process.pid}-${randomBytes(6).toString('hex')}`);
      const target = path.join(work, 'rootfs');
      mkdirSync(target, { recursive: true });
      try {
        const argv = [`--arch=${arch}`];
        if (spec.variant) argv.push(`--variant=${spec.variant}`);
        if (include.length > 0) argv.push(`--include=${include.join(',')}`);
        argv.push(spec.suite, target, mirror);
        let PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
        const nodeRecord = path.join(work, 'nodes');
        const realMknod = inUserNamespace() ? findExecutable('mknod') : undefined;
        if (realMknod) {
          const shimDir = path.join(work, 'bin');
          mkdirSync(shimDir);
          writeFileSync(path.join(shimDir, 'mknod'), mknodShim(realMknod), { mode: 0o755 });
          writeFileSync(nodeRecord, '');
          PATH = `${shimDir}:${PATH}`;
        }
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          PATH,
          LC_ALL: 'C',
          DEBIAN_FRONTEND: 'noninteractive',
          SOURCE_DATE_EPOCH: String(epoch),
          ...(realMknod ? { ROOTC_DEBOOTSTRAP_NODES: nodeRecord } : {}),
        };
        // In a mount and pid namespace of its own: the /proc, /sys and /dev/pts mounts debootstrap makes in the
        // target go away with it, and if rootc dies (pdeathsig) every process it started (dpkg, maintainer
        // scripts) is killed with the namespace's init, instead of writing on into a swept temp dir.
        const unshare = findHostTool('unshare');
        const setpriv = findHostTool('setpriv');
        const wrap = unshare
          ? [
              ...(setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : []),
              unshare,
              '--mount',
              '--propagation',
              'private',
              '--pid',
              '--fork',
              '--kill-child',
              '--',
            ]
          : [];
        const command = [...wrap, bin, ...argv];
        const r = await runTool(command[0]!, command.slice(1), { env, maxOutput: 64 << 10 });
        if (r.code !== 0) {
          let log = '';
          try {
            log = readFileSync(path.join(target, 'debootstrap/debootstrap.log'), 'utf8');
          } catch {
            // no log
          }
          const tail = `${r.stderr}\n${r.stdout}\n${log}`
            .trim()
            .split('\n')
            .filter((l) => l.trim() !== '')
            .slice(-6)
            .join('\n');
          throw fail(
            'source/debootstrap-failed',
            `${describe} failed (${r.signal ? `signal ${r.signal}` : `exit ${r.code}`}):\n${tail}`,
            loc,
          );
        }
        // Its own mount namespace is gone with it; this only matters where unshare was missing.
        const left = await unmountBelow(target);
        if (left.length > 0) {
          throw fail('source/debootstrap-failed', `cannot unmount ${left.join(', ')} after debootstrap`, loc);
        }
        if (!existsSync(path.join(target, 'usr/bin'))) {
          throw fail('source/debootstrap-failed', `${describe} left no /usr/bin in the tree`, loc);
        }
        const nodes = readNodeRecords(nodeRecord, target);
        // Mtimes clamped like every layer rootc makes: the files debootstrap wrote carry the day it ran.
        const layer = await storeLayer(ctx.store, withNodes(walkTree(target), nodes), {
          compression,
          clampMtime: epoch,
        });
        index = { version: LAYER_VERSION, args, layer };
        writeJsonAtomic(indexFile, index);
      } finally {
        await removeTree(work);
      }
    }
    const image = appendLayer(emptyImage(), index.layer, { created_by: `FROM ${describe}` });
    return { image, digest: index.layer.diffId };
  },
};
