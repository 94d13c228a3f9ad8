import { createReadStream } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, warning } from '../diagnostics/diagnostic.js';
import type { ContainerConfig, ImageConfig } from '../image/config.js';
import {
  appendLayer,
  configDigest,
  emptyImage,
  type Image,
  withContainerConfig,
  withImageFields,
} from '../image/image.js';
import { type Layer, storeLayer } from '../image/layer.js';
import { decompressStream } from '../tar/compress.js';
import { normalizeMembers } from '../tar/normalize.js';
import { readTar, type TarMember } from '../tar/reader.js';
import { fail, hashFile, localPath, readJson, writeJsonAtomic } from './common.js';
import type { ResolvedSource, Source, SourceContext } from './source.js';

/**
 * `FROM aci <file>`: an appc App Container Image (spec/aci.md): a tar (plain, gzip, bzip2 or xz) of `manifest`
 * and `rootfs/`. The rootfs becomes one normalized layer (the `rootfs/` prefix stripped), the manifest's app
 * becomes the config: exec → Cmd, environment → Env, user/group → User, workingDirectory, ports →
 * ExposedPorts, mountPoints → Volumes, labels → Labels (os/arch also set the image platform). Images with
 * dependencies are refused: resolving them needs appc discovery, which rootc does not do.
 */
export interface AciSpec {
  path: string;
}

const LAYER_VERSION = 1;
const MAX_MANIFEST = 1 << 20;

interface AciManifest {
  acKind?: string;
  name?: string;
  labels?: { name: string; value: string }[];
  app?: {
    exec?: string[];
    user?: string;
    group?: string;
    workingDirectory?: string;
    environment?: { name: string; value: string }[];
    ports?: { name?: string; protocol?: string; port?: number; count?: number }[];
    mountPoints?: { name?: string; path?: string }[];
  };
  dependencies?: unknown[];
  pathWhitelist?: string[];
}

/** appc's arch label names → the image spec's (GOARCH) names. */
const ARCH: Record<string, { architecture: string; variant?: string }> = {
  amd64: { architecture: 'amd64' },
  i386: { architecture: '386' },
  aarch64: { architecture: 'arm64', variant: 'v8' },
  aarch64_be: { architecture: 'arm64be' },
  armv6l: { architecture: 'arm', variant: 'v6' },
  armv7l: { architecture: 'arm', variant: 'v7' },
  armv7b: { architecture: 'armbe', variant: 'v7' },
  ppc64: { architecture: 'ppc64' },
  ppc64le: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
};

/** The manifest's app and labels as Docker config fields (exported for tests). */
export function aciConfig(manifest: AciManifest): {
  config: Partial<ContainerConfig>;
  platform: Partial<ImageConfig>;
} {
  const app = manifest.app ?? {};
  const config: Partial<ContainerConfig> = {};
  if (app.exec && app.exec.length > 0) config.Cmd = [...app.exec];
  if (app.environment?.length) config.Env = app.environment.map((e) => `${e.name}=${e.value}`);
  const user = app.user ?? '0';
  const group = app.group ?? '0';
  if (!(/^(0|root)$/.test(user) && /^(0|root)$/.test(group))) {
    config.User = `${user}:${group}`;
  }
  if (app.workingDirectory && app.workingDirectory !== '/') config.WorkingDir = app.workingDirectory;
  if (app.ports?.length) {
    const ports: Record<string, Record<string, never>> = {};
    for (const p of app.ports) {
      if (!p.port) continue;
      const proto = (p.protocol ?? 'tcp').toLowerCase();
      const count = Math.max(1, Math.min(p.count ?? 1, 65536 - p.port));
      for (let i = 0; i < count; i++) ports[`${p.port + i}/${proto}`] = {};
    }
    config.ExposedPorts = ports;
  }
  if (app.mountPoints?.length) {
    const volumes: Record<string, Record<string, never>> = {};
    for (const m of app.mountPoints) if (m.path) volumes[m.path] = {};
    config.Volumes = volumes;
  }
  const platform: Partial<ImageConfig> = {};
  const labels: Record<string, string> = {};
  for (const l of manifest.labels ?? []) {
    labels[l.name] = l.value;
    if (l.name === 'os') platform.os = l.value;
    if (l.name === 'arch' && ARCH[l.value]) Object.assign(platform, ARCH[l.value]);
  }
  if (Object.keys(labels).length > 0) config.Labels = labels;
  return { config, platform };
}

/** The members below `rootfs/`, renamed to their image paths; the manifest's bytes handed to `onManifest`. */
async function* rootfsMembers(
  members: AsyncIterable<TarMember>,
  onManifest: (bytes: Buffer) => void,
  onOther: (name: string) => void,
): AsyncGenerator<TarMember> {
  for await (const m of members) {
    const name = path.posix.normalize(`/${m.header.name}`).slice(1);
    if (name === 'manifest' && m.header.type === 'file') {
      const parts: Buffer[] = [];
      let n = 0;
      for await (const c of m.body()) {
        n += c.length;
        if (n > MAX_MANIFEST) throw new Error('manifest is larger than 1 MiB');
        parts.push(c);
      }
      onManifest(Buffer.concat(parts));
      continue;
    }
    if (name === 'rootfs' || name === '') continue;
    if (!name.startsWith('rootfs/')) {
      onOther(name);
      continue;
    }
    const header = { ...m.header, name: name.slice('rootfs/'.length) };
    if (m.header.type === 'hardlink') {
      const target = path.posix.normalize(`/${m.header.linkname}`).slice(1);
      header.linkname = target.startsWith('rootfs/') ? target.slice('rootfs/'.length) : target;
    }
    yield { header, body: m.body };
  }
}

interface AciIndex {
  version: number;
  layer: Layer;
  manifest: AciManifest;
  warnings: string[];
}

export const aciSource: Source<AciSpec> = {
  kind: 'aci',
  async resolve(spec: AciSpec, ctx: SourceContext): Promise<ResolvedSource> {
    const loc = ctx.location;
    const file = localPath(spec.path, ctx, 'file', 'source/aci-missing', 'ACI');
    const sha = await hashFile(file);
    const compression = ctx.compression ?? 'gzip';
    const indexFile = path.join(ctx.cacheDir, 'sources', 'aci', `${sha}-${compression}.json`);
    let index = readJson<AciIndex>(indexFile);
    if (!index || index.version !== LAYER_VERSION || !ctx.store.has(index.layer.digest)) {
      let manifestBytes: Buffer | undefined;
      const others = new Set<string>();
      const warnings: string[] = [];
      let layer: Layer;
      try {
        const { stream } = await decompressStream(createReadStream(file, { highWaterMark: 1 << 20 }));
        const members = rootfsMembers(
          readTar(stream),
          (b) => {
            manifestBytes = b;
          },
          (n) => others.add(n.split('/')[0]!),
        );
        layer = await storeLayer(
          ctx.store,
          normalizeMembers(members, { onWarning: (m) => warnings.push(m) }),
          {
            compression,
          },
        );
      } catch (e) {
        if (e instanceof DiagnosticError) throw e;
        throw fail('source/aci-invalid', `${spec.path} is not a readable ACI: ${(e as Error).message}`, loc);
      }
      if (!manifestBytes) throw fail('source/aci-invalid', `${spec.path} has no manifest: not an ACI`, loc);
      let manifest: AciManifest;
      try {
        manifest = JSON.parse(manifestBytes.toString('utf8')) as AciManifest;
      } catch (e) {
        throw fail(
          'source/aci-invalid',
          `${spec.path}: the manifest is not valid JSON: ${(e as Error).message}`,
          loc,
        );
      }
      if (manifest.acKind !== 'ImageManifest') {
        throw fail('source/aci-invalid', `${spec.path}: the manifest's acKind is not ImageManifest`, loc);
      }
      if (others.size > 0) warnings.push(`entries outside rootfs/ ignored: ${[...others].sort().join(', ')}`);
      index = { version: LAYER_VERSION, layer, manifest, warnings };
      writeJsonAtomic(indexFile, index);
    }
    const manifest = index.manifest;
    if (manifest.dependencies && manifest.dependencies.length > 0) {
      throw fail(
        'source/aci-dependencies',
        `${spec.path} depends on other images (appc dependencies); rootc cannot resolve them: use a flattened ACI`,
        loc,
      );
    }
    const notes = [...index.warnings];
    if (manifest.pathWhitelist?.length) notes.push('pathWhitelist ignored (it only filters dependencies)');
    if (notes.length > 0)
      ctx.warn?.(warning('source/aci-normalized', `${spec.path}: ${notes.slice(0, 5).join('; ')}`, loc));

    const { config, platform } = aciConfig(manifest);
    const arch = platform.architecture
      ? { architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) }
      : {};
    let image: Image = withImageFields(emptyImage(arch), platform.os ? { os: platform.os } : {});
    image = appendLayer(image, index.layer, {
      created_by: `FROM aci ${path.basename(spec.path)}${manifest.name ? ` (${manifest.name})` : ''}`,
    });
    image = withContainerConfig(image, config);
    return { image, digest: configDigest(image) };
  },
};
