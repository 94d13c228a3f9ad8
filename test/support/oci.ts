/**
 * OCI tools: umoci and skopeo (Debian packages of the same names).
 *
 *   umoci(args, opts?)                      → RunResult
 *   umociUnpack(layoutDir, tag, bundleDir)  → the bundle's rootfs path (`umoci unpack --image DIR:TAG`;
 *                                             `--rootless` when not root)
 *   skopeo(args, opts?)                     → RunResult
 *   skopeoInspect(ref, opts?)               → parsed `skopeo inspect` JSON (`--config` with {config:true})
 *
 * All throw on a non-zero exit unless `{ reject: false }`.
 */
import { join } from 'node:path';
import { type RunOptions, type RunResult, run } from './exec.js';
import { toolPath } from './tools.js';

export function umoci(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(toolPath('umoci'), args, opts);
}

export async function umociUnpack(layoutDir: string, tag: string, bundleDir: string): Promise<string> {
  const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
  await umoci(['unpack', ...rootless, '--image', `${layoutDir}:${tag}`, bundleDir]);
  return join(bundleDir, 'rootfs');
}

export function skopeo(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(toolPath('skopeo'), args, opts);
}

/** `skopeo inspect [--config] REF` parsed; REF like `oci:DIR:TAG` or `docker://127.0.0.1:PORT/NAME:TAG`. */
export async function skopeoInspect(
  ref: string,
  opts: { config?: boolean; tlsVerify?: boolean } = {},
): Promise<Record<string, unknown>> {
  const args = ['inspect'];
  if (opts.config) args.push('--config');
  if (ref.startsWith('docker://')) args.push(`--tls-verify=${opts.tlsVerify ?? false}`);
  const r = await skopeo([...args, ref]);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}
