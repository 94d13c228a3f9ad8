/**
 * appc's actool, built by scripts/setup.sh from Debian's golang-github-appc-spec-dev.
 *
 *   actool(args, opts?)  → RunResult   e.g. actool(['validate', file]) (silent and 0 when valid;
 *                                      add '--debug' before 'validate' to see why not),
 *                                      actool(['cat-manifest', file])
 *   actoolPath()         → its absolute path
 */
import { type RunOptions, type RunResult, run } from './exec.js';
import { toolPath } from './tools.js';

export function actoolPath(): string {
  return toolPath('actool');
}

export function actool(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(actoolPath(), args, opts);
}
