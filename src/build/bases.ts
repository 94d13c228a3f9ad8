/**
 * IR base kinds → source modules (go-containerregistry keeps one package per source; this is the table
 * that picks one). Adding a FROM kind = a module in sources/ and one entry here.
 */
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import type { Base } from '../lower/ir.js';
import type { ResolvedSource, SourceContext } from '../sources/source.js';
import { tarballSource } from '../sources/tarball.js';

type BaseKind = Exclude<Base['kind'], 'scratch' | 'stage'>;
type BaseResolver<K extends BaseKind> = (
  base: Extract<Base, { kind: K }>,
  ctx: SourceContext,
) => Promise<ResolvedSource>;

const resolvers: { [K in BaseKind]?: BaseResolver<K> } = {
  tarball: (base, ctx) =>
    tarballSource.resolve(
      {
        location: base.source.type === 'url' ? base.source.url : base.source.path,
        ...(base.sha256 ? { sha256: base.sha256 } : {}),
      },
      ctx,
    ),
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
