import { Readable } from 'node:stream';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { BlobStore } from '../image/blobstore.js';
import { epochToCreated, type ImageConfig } from '../image/config.js';
import { flattenLayers } from '../image/flatten.js';
import type { Image } from '../image/image.js';
import { type Compression, compressStream } from '../tar/compress.js';
import type { TarEntrySpec } from '../tar/entry.js';
import { tarStream } from '../tar/writer.js';
import { writeFileAtomic } from './atomic.js';

/** The appc spec version the manifests follow (what Debian's actool validates against). */
export const AC_VERSION = '0.8.11';

export type AciCompression = Extract<Compression, 'gzip' | 'bzip2' | 'xz' | 'none'>;

export interface AciName {
  name: string;
  version: string;
}

interface NameValue {
  name: string;
  value: string;
}

export interface AciManifest {
  acKind: 'ImageManifest';
  acVersion: string;
  name: string;
  labels: NameValue[];
  app?: {
    exec: string[];
    user: string;
    group: string;
    workingDirectory?: string;
    environment?: NameValue[];
    mountPoints?: { name: string; path: string; readOnly: boolean }[];
    ports?: { name: string; protocol: string; port: number; count?: number }[];
  };
  annotations: NameValue[];
}

function fail(code: string, message: string): never {
  throw new DiagnosticError(error(`writers/${code}`, message));
}

/** appc's AC Identifier check (schema/types/acidentifier.go): allowed characters, alphanumeric edges. */
export function isAcIdentifier(s: string): boolean {
  return s.length > 0 && !/[^a-z0-9\-._~/]/.test(s) && !/^[-._~/]|[-._~/]$/.test(s);
}

/** An AC Name (`[a-z0-9]+(-[a-z0-9]+)*`) from a path or port: lower case, other characters become `-`. */
export function toAcName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `-t example.com/app:1.0` → name `example.com/app`, version `1.0`; a clear error when not an AC Identifier. */
export function aciName(ref: string): AciName {
  if (ref.includes('@')) {
    fail(
      'aci-name',
      `image name "${ref}" cannot be an ACI name: a digest (@…) is not allowed; use -t name[:version]`,
    );
  }
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const name = colon > slash ? ref.slice(0, colon) : ref;
  const version = colon > slash ? ref.slice(colon + 1) : 'latest';
  if (!isAcIdentifier(name)) {
    const why = /[A-Z]/.test(name)
      ? 'upper-case letters are not allowed'
      : /:/.test(name)
        ? 'a port (":") is not allowed'
        : 'only a-z, 0-9 and "-._~/" are allowed, starting and ending with a letter or digit';
    fail(
      'aci-name',
      `image name "${name}" (from -t ${ref}) is not a valid ACI name (an AC Identifier): ${why}`,
    );
  }
  if (version === '') fail('aci-name', `image name "${ref}" has an empty version after ":"`);
  return { name, version };
}

/** Go/OCI architecture (+ variant) → appc's arch label (types.ToAppcOSArch). */
export function aciArch(architecture: string, variant: string | undefined): string {
  switch (architecture) {
    case 'amd64':
      return 'amd64';
    case '386':
      return 'i386';
    case 'arm64':
      return 'aarch64';
    case 'arm':
      return variant === 'v7' || variant === '7' ? 'armv7l' : 'armv6l';
    case 'ppc64':
    case 'ppc64le':
    case 's390x':
      return architecture;
    default:
      return fail(
        'aci-arch',
        `architecture "${architecture}" has no appc name (amd64, i386, aarch64, armv6l, armv7l, ppc64, ppc64le, s390x)`,
      );
  }
}

/** Docker USER → appc user and group. USER name without a group: the primary group from /etc/passwd. */
export function aciUserGroup(
  user: string | undefined,
  passwd: string | undefined,
): { user: string; group: string } {
  if (!user) return { user: '0', group: '0' };
  const colon = user.indexOf(':');
  if (colon >= 0) return { user: user.slice(0, colon) || '0', group: user.slice(colon + 1) || '0' };
  for (const line of (passwd ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 4 && (f[0] === user || f[2] === user) && /^\d+$/.test(f[3]!))
      return { user, group: f[3]! };
  }
  return { user, group: '0' };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z_0-9.-]*$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export interface AciManifestInput {
  config: ImageConfig;
  annotations: Readonly<Record<string, string>>;
  name: AciName;
  epoch?: number;
  /** The image's /etc/passwd (for USER without a group). */
  passwd?: string;
  /** exec[0] when it is a bare name: its absolute path found in the image along PATH (appc wants one). */
  execPath?: string;
}

/**
 * The appc image manifest for an image, mapped the way DESIGN.md says (and close to docker2aci): exec =
 * ENTRYPOINT + CMD (no `app` without them), EXPOSE 80/tcp → port `tcp-80`, VOLUME /var/lib/x → mount point
 * `var-lib-x`, labels version/os/arch, annotations `created` + ANNOTATION values. Key order follows the Go
 * structs of appc/spec, lists are sorted: the same image always gives the same bytes.
 */
export function aciManifest(input: AciManifestInput): AciManifest {
  const { config, name } = input;
  const c = config.config;
  const labels: NameValue[] = [];
  if (config.architecture) labels.push({ name: 'arch', value: aciArch(config.architecture, config.variant) });
  if (config.os) labels.push({ name: 'os', value: config.os });
  labels.push({ name: 'version', value: name.version });

  const manifest: AciManifest = {
    acKind: 'ImageManifest',
    acVersion: AC_VERSION,
    name: name.name,
    labels,
    annotations: [],
  };

  const exec = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (exec.length > 0 && input.execPath && !exec[0]!.startsWith('/')) exec[0] = input.execPath;
  if (exec.length > 0) {
    const { user, group } = aciUserGroup(c.User, input.passwd);
    const app: NonNullable<AciManifest['app']> = { exec, user, group };
    if (c.WorkingDir) app.workingDirectory = c.WorkingDir;
    const env: NameValue[] = [];
    for (const e of c.Env ?? []) {
      const eq = e.indexOf('=');
      const n = eq < 0 ? e : e.slice(0, eq);
      if (!ENV_NAME.test(n))
        fail(
          'aci-env',
          `environment variable "${n}" cannot be in an ACI (names are letters, digits, "_", ".", "-")`,
        );
      env.push({ name: n, value: eq < 0 ? '' : e.slice(eq + 1) });
    }
    if (env.length > 0) app.environment = env;

    const mounts = Object.keys(c.Volumes ?? {}).sort();
    if (mounts.length > 0) {
      const used = new Map<string, number>();
      app.mountPoints = mounts.map((p) => {
        let n = toAcName(p) || 'root';
        const count = used.get(n) ?? 0;
        used.set(n, count + 1);
        if (count > 0) n = `${n}-${count + 1}`;
        return { name: n, path: p, readOnly: false };
      });
    }

    const ports = Object.keys(c.ExposedPorts ?? {}).map((key) => {
      const m = /^(\d+)(?:-(\d+))?(?:\/([a-z0-9]+))?$/i.exec(key);
      if (!m) return fail('aci-port', `EXPOSE ${key} cannot be an ACI port`);
      const port = Number(m[1]);
      const end = m[2] === undefined ? port : Number(m[2]);
      const protocol = (m[3] ?? 'tcp').toLowerCase();
      if (port < 1 || port > 65535 || end < port || end > 65535)
        fail('aci-port', `EXPOSE ${key}: ports must be within 1-65535`);
      return {
        name: toAcName(`${protocol}-${m[1]}${m[2] ? `-${m[2]}` : ''}`),
        protocol,
        port,
        ...(end > port ? { count: end - port + 1 } : {}),
      };
    });
    if (ports.length > 0)
      app.ports = ports.sort(
        (a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0),
      );
    manifest.app = app;
  }

  const annotations = new Map<string, string>();
  const created = config.created ?? (input.epoch === undefined ? undefined : epochToCreated(input.epoch));
  if (created) annotations.set('created', created);
  for (const [k, v] of Object.entries(input.annotations)) {
    if (!isAcIdentifier(k))
      fail(
        'aci-annotation',
        `ANNOTATION ${k} cannot be in an ACI: appc annotation names are AC Identifiers (lower case a-z, 0-9, "-._~/")`,
      );
    annotations.set(k, v);
  }
  const when = annotations.get('created');
  if (when !== undefined && !RFC3339.test(when))
    fail(
      'aci-annotation',
      `ANNOTATION created=${when}: appc wants an RFC 3339 date (e.g. 2024-01-02T03:04:05Z)`,
    );
  for (const k of ['homepage', 'documentation']) {
    const v = annotations.get(k);
    if (v !== undefined && !/^https?:\/\/\S+$/.test(v))
      fail('aci-annotation', `ANNOTATION ${k}=${v}: appc wants an http(s) URL`);
  }
  // Key order of appc's Go structs (acKind, acVersion, name, labels, app, …, annotations).
  const { app, annotations: _, ...head } = manifest;
  return {
    ...head,
    ...(app ? { app } : {}),
    annotations: [...annotations.keys()].sort().map((k) => ({ name: k, value: annotations.get(k)! })),
  };
}

/** `compression=` for an ACI: gzip (default), bzip2, xz, none. The appc spec allows no other. */
export function parseAciCompression(value: string | undefined): AciCompression {
  if (value === undefined || value === '') return 'gzip';
  if (value === 'gzip' || value === 'bzip2' || value === 'xz' || value === 'none') return value;
  if (value === 'uncompressed') return 'none';
  return fail(
    'compression',
    value === 'zstd'
      ? 'an ACI cannot be zstd-compressed: the appc spec allows gzip, bzip2 or xz (or compression=none)'
      : `unsupported compression "${value}" for an ACI: expected gzip, bzip2, xz or none`,
  );
}

export interface AciOptions {
  /** `-t` values; the first names the ACI. */
  tags: string[];
  compression?: AciCompression;
  level?: number;
  /** SOURCE_DATE_EPOCH: the `created` fallback and the mtime clamp. */
  epoch?: number;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where a bare command name would be found along PATH (image paths, without the leading `/`). */
export function execCandidates(name: string, env: readonly string[] | undefined): string[] {
  if (name.startsWith('/') || name.includes('/') || name === '') return [];
  const pathVar = (env ?? []).find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  return pathVar
    .split(':')
    .filter((d) => d.startsWith('/'))
    .map((d) => `${d.replace(/^\/+|\/+$/g, '')}/${name}`.replace(/^\//, ''));
}

/**
 * What the manifest needs from the final tree, in one pass that reads only the layers holding it:
 * /etc/passwd (USER without a group) and where a bare exec name lives along PATH.
 */
async function lookInTree(
  store: BlobStore,
  image: Image,
  wantPasswd: boolean,
  candidates: string[],
): Promise<{ passwd?: string; execPath?: string }> {
  const wanted = new Set(candidates);
  if (wantPasswd) wanted.add('etc/passwd');
  if (wanted.size === 0) return {};
  let passwd: string | undefined;
  const found = new Set<string>();
  for await (const e of flattenLayers(store, image, { only: (p) => wanted.has(p) })) {
    if (e.path === 'etc/passwd' && wantPasswd && e.type === 'file' && e.open && (e.size ?? 0) < 1 << 20) {
      const chunks: Buffer[] = [];
      for await (const c of e.open()) chunks.push(c as Buffer);
      passwd = Buffer.concat(chunks).toString('utf8');
    } else if (e.type === 'file' || e.type === 'symlink' || e.type === 'hardlink') found.add(e.path);
  }
  const hit = candidates.find((p) => found.has(p));
  return { ...(passwd === undefined ? {} : { passwd }), ...(hit ? { execPath: `/${hit}` } : {}) };
}

/**
 * `--output type=aci`: an appc image archive, a tar of `manifest` and `rootfs/` (the image's final tree,
 * streamed from its layers with whiteouts applied, so device nodes, owners, modes and xattrs are kept),
 * compressed as asked; deterministic and written under a temporary name.
 */
export async function writeAci(
  store: BlobStore,
  image: Image,
  dest: string,
  options: AciOptions,
): Promise<number> {
  const first = options.tags[0];
  if (!first) {
    fail(
      'aci-name',
      'an ACI needs a name: give -t name[:version] (an AC Identifier such as example.com/app:1.0)',
    );
  }
  const name = aciName(first);
  const c = image.config.config;
  const exec0 = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])][0];
  const needsPasswd = exec0 !== undefined && !!c.User && !c.User.includes(':');
  const found = await lookInTree(store, image, needsPasswd, exec0 ? execCandidates(exec0, c.Env) : []);
  const manifest = aciManifest({
    config: image.config,
    annotations: image.annotations,
    name,
    ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
    ...found,
  });
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const mtime = options.epoch ?? 0;

  async function* entries(): AsyncGenerator<TarEntrySpec> {
    yield {
      path: 'manifest',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime,
      size: manifestBytes.length,
      open: () => Readable.from([manifestBytes]),
    };
    yield { path: 'rootfs', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime };
    for await (const e of flattenLayers(store, image)) {
      const out: TarEntrySpec = { ...e, path: `rootfs/${e.path}` };
      if (e.type === 'hardlink') out.linkname = `rootfs/${e.linkname}`;
      yield out;
    }
  }
  const tar = tarStream(entries(), options.epoch === undefined ? {} : { clampMtime: options.epoch });
  return writeFileAtomic(dest, compressed(tar, options.compression ?? 'gzip', options.level));
}

/** `tar` through the compressor, an error on either side failing the result. */
export function compressed(tar: Readable, compression: Compression, level?: number): Readable {
  if (compression === 'none') return tar;
  const out = compressStream(compression, level === undefined ? {} : { level });
  tar.on('error', (e) => out.destroy(e));
  return tar.pipe(out);
}
