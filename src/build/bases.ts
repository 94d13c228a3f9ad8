/**
 * IR base kinds → source modules (go-containerregistry keeps one package per source; this is the table
 * that picks one). Adding a FROM kind = a module in sources/ and one entry here.
 */
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { canonicalBaseJson } from '../lower/canonical.js';
import type { Base, IR } from '../lower/ir.js';
import type { BaseImageConfig } from '../lower/lowerer.js';
import { aciSource } from '../sources/aci.js';
import { debootstrapSource } from '../sources/debootstrap.js';
import { dockerArchiveSource } from '../sources/docker-archive.js';
import { ociSource } from '../sources/oci.js';
import { pullSource } from '../sources/registry.js';
import type { ResolvedSource, SourceContext } from '../sources/source.js';
import { stage3Source } from '../sources/stage3.js';
import { tarballSource } from '../sources/tarball.js';

type BaseKind = Exclude<Base['kind'], 'scratch' | 'stage'>;
type BaseResolver<K extends BaseKind> = (
  base: Extract<Base, { kind: K }>,
  ctx: SourceContext,
) => Promise<ResolvedSource>;

const resolvers: { [K in BaseKind]?: BaseResolver<K> } = {
  image: (base, ctx) => pullSource(base.ref, ctx.platform ?? { os: 'linux', architecture: 'amd64' }, ctx),
  tarball: (base, ctx) =>
    tarballSource.resolve(
      {
        location: base.source.type === 'url' ? base.source.url : base.source.path,
        ...(base.sha256 ? { sha256: base.sha256 } : {}),
      },
      ctx,
    ),
  stage3: (base, ctx) =>
    stage3Source.resolve(
      {
        source: base.source,
        ...(base.digests ? { digests: base.digests } : {}),
        ...(base.keyring ? { keyring: base.keyring } : {}),
      },
      ctx,
    ),
  debootstrap: (base, ctx) =>
    debootstrapSource.resolve(
      {
        suite: base.suite,
        ...(base.variant ? { variant: base.variant } : {}),
        ...(base.mirror ? { mirror: base.mirror } : {}),
        include: base.include,
      },
      ctx,
    ),
  'docker-archive': (base, ctx) =>
    dockerArchiveSource.resolve(
      { path: base.path, ...(base.reference ? { reference: base.reference } : {}) },
      ctx,
    ),
  oci: (base, ctx) =>
    ociSource.resolve({ path: base.path, ...(base.reference ? { reference: base.reference } : {}) }, ctx),
  aci: (base, ctx) => aciSource.resolve({ path: base.path }, ctx),
};

/** Resolves an image-producing base (everything but scratch and another stage). */
export function resolveBaseSource(
  base: Extract<Base, { kind: BaseKind }>,
  ctx: SourceContext,
): Promise<ResolvedSource> {
  const resolver = resolvers[base.kind] as BaseResolver<typeof base.kind> | undefined;
  if (!resolver) {
    throw new DiagnosticError(
      error(
        'build/unsupported-base',
        `FROM ${base.kind} is not supported by this version of rootc yet`,
        ctx.location,
      ),
    );
  }
  return resolver(base as never, ctx);
}

/** Base kinds whose config (Env, WorkingDir, User, Shell, OnBuild) lowering needs to know. */
const IMAGE_KINDS = new Set<Base['kind']>(['docker-archive', 'oci', 'aci', 'image']);

/**
 * Resolves the configs of a compiled IR's image bases (pulling or reading them into the store, which
 * the build itself then finds cached), keyed by canonicalBaseJson, so the Rootfile can be lowered again
 * with them: `ENV PATH=/x:$PATH` must see the base image's PATH, as in Docker.
 */
export async function resolveBaseConfigs(
  ir: IR,
  ctx: (stage: IR['stages'][number]) => SourceContext,
): Promise<Map<string, BaseImageConfig>> {
  const configs = new Map<string, BaseImageConfig>();
  for (const stage of ir.stages) {
    const base = stage.base;
    if (!IMAGE_KINDS.has(base.kind) || base.kind === 'scratch' || base.kind === 'stage') continue;
    const key = canonicalBaseJson(base);
    if (configs.has(key)) continue;
    const resolved = await resolveBaseSource(base, ctx(stage));
    const c = resolved.image.config.config;
    configs.set(key, {
      ...(c.Env ? { env: [...c.Env] } : {}),
      ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
      ...(c.User ? { user: c.User } : {}),
      ...(c.Shell ? { shell: [...c.Shell] } : {}),
      ...(c.OnBuild ? { onBuild: [...c.OnBuild] } : {}),
    });
  }
  return configs;
}
