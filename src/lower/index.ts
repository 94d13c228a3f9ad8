/**
 * Lowering: Rootfile AST → IR. Pure: the only input besides the AST is the injected reader for
 * INCLUDEd files. See docs/ir.md for the IR and docs/architecture.md for where this sits.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { ParseResult, RootfileAst } from '../syntax/ast.js';
import { parseRootfile } from '../syntax/index.js';
import { Lowerer, type LowerOptions, type LowerResult } from './lowerer.js';

export { baseCacheKey, canonicalBaseJson, canonicalStepJson, stepCacheKey } from './canonical.js';
export { expandWord, expandWords } from './expand.js';
export type * from './ir.js';
export { IR_VERSION } from './ir.js';
export type { BaseImageConfig, LowerOptions, LowerResult } from './lowerer.js';
export { predefinedArgs } from './lowerer.js';

/** Lower a parsed Rootfile. Never throws. */
export function lowerRootfile(ast: RootfileAst, options: LowerOptions): LowerResult {
  return new Lowerer(ast, options).run();
}

/** Order for display: the root file first, then by file, then by position; no location last. */
export function orderDiagnostics(root: string, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const rank = (d: Diagnostic) => (!d.location ? 2 : d.location.file === root ? 0 : 1);
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const ra = rank(a.d);
      const rb = rank(b.d);
      if (ra !== rb) return ra - rb;
      const fa = a.d.location?.file ?? '';
      const fb = b.d.location?.file ?? '';
      if (fa !== fb) return fa < fb ? -1 : 1;
      const oa = a.d.location?.range.start.offset ?? 0;
      const ob = b.d.location?.range.start.offset ?? 0;
      return oa - ob || a.i - b.i;
    })
    .map((x) => x.d);
}

export type CompileOptions = Omit<LowerOptions, 'parse'> & { parse?: LowerOptions['parse'] };

/**
 * Parse and lower one Rootfile (the parser defaults to rootc's): parse diagnostics and lowering
 * diagnostics together, in order.
 */
export function compileRootfile(
  file: string,
  text: string,
  options: CompileOptions,
): LowerResult & { parse: ParseResult } {
  const parse = options.parse ?? parseRootfile;
  const parsed = parse(text, file);
  const lowered = lowerRootfile(parsed.ast, { ...options, parse });
  // The parser already reported what it found wrong; lowering's own check of the same spot (kept for
  // ASTs that come from elsewhere) would only repeat it.
  const parseErrors = new Set(
    parsed.diagnostics
      .filter((d) => d.severity === 'error' && d.location)
      .map((d) => `${d.location!.file}:${d.location!.range.start.offset}`),
  );
  const fresh = lowered.diagnostics.filter(
    (d) =>
      !(
        d.severity === 'error' &&
        d.location &&
        parseErrors.has(`${d.location.file}:${d.location.range.start.offset}`)
      ),
  );
  const diagnostics = orderDiagnostics(file, [...parsed.diagnostics, ...fresh]);
  return {
    ...lowered,
    // A syntax error anywhere means no IR, even when lowering made sense of what was left.
    ir: diagnostics.some((d) => d.severity === 'error') ? undefined : lowered.ir,
    diagnostics,
    parse: parsed,
  };
}
