/** `rootc build`: compile, then run the build (in its own mount namespace when it must) and write the outputs. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveBaseConfigs } from '../../build/bases.js';
import { buildImage } from '../../build/build.js';
import { NeedsExecution, toSourceLocation } from '../../build/interpreter.js';
import { type OutputSpec, parseOutputSpec } from '../../build/outputs.js';
import { BufferedReporter, createReporter } from '../../build/progress.js';
import { trace } from '../../build/trace.js';
import { defaultCacheDir } from '../../cache/store.js';
import { type Diagnostic, DiagnosticError, hasErrors } from '../../diagnostics/diagnostic.js';
import { BlobStore } from '../../image/blobstore.js';
import { canonicalBaseJson } from '../../lower/canonical.js';
import type { ClientOptions } from '../../registry/client.js';
import { inBuildNamespace, reexecInBuildNamespace } from '../../sandbox/namespace.js';
import { printDiagnostics, UsageError } from '../output.js';
import type { BuildFlags } from './build.js';
import { compileFile } from './check.js';

export async function runBuild(contextArg: string, flags: BuildFlags): Promise<void> {
  trace('build command');
  const contextDir = path.resolve(contextArg);
  const rootfile = findRootfile(contextDir, flags.file);
  let outputs: OutputSpec[];
  try {
    outputs = flags.output.map(parseOutputSpec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (flags.push) {
    if (flags.tag.length === 0) throw new UsageError('--push needs at least one -t name:tag');
    for (const tag of flags.tag) outputs.push(parseOutputSpec(`type=registry,name=${tag}`));
  }
  const compileOptions = { buildArgs: flags.buildArg, ...(flags.target ? { target: flags.target } : {}) };
  let compiled = compileFile(rootfile, compileOptions);
  const cacheDir = flags.cacheDir ? path.resolve(flags.cacheDir) : defaultCacheDir();
  if (compiled.ir && !hasErrors(compiled.diagnostics)) {
    // Image bases (docker-archive, oci, aci, registry) bring an Env, WorkingDir, User, SHELL and
    // ONBUILD triggers that the Rootfile's variables and steps depend on: read them, then lower again.
    const ir = compiled.ir;
    const configs = await resolveBaseConfigs(ir, (stage) => ({
      store: new BlobStore(cacheDir),
      cacheDir,
      baseDir: contextDir,
      location: toSourceLocation(stage.location),
      compression: 'none',
      platform: ir.platform,
      registry: registryOptions(flags),
    }));
    if (configs.size > 0) {
      compiled = compileFile(rootfile, {
        ...compileOptions,
        baseConfig: (base) => configs.get(canonicalBaseJson(base)),
      });
    }
  }
  if (hasErrors(compiled.diagnostics) || !compiled.ir) {
    printDiagnostics(compiled.diagnostics);
    throw new DiagnosticError([]);
  }
  const progress = createReporter(flags.progress);
  const finish = (warnings: Diagnostic[]) => {
    printDiagnostics(warnings);
    if (outputs.length === 0) {
      process.stderr.write(
        'rootc: no --output given: the build result is only in the cache (try --output type=docker,dest=image.tar)\n',
      );
    }
  };
  const options = {
    ir: compiled.ir,
    rootfile,
    contextDir,
    cacheDir,
    noCache: !flags.cache,
    tags: flags.tag,
    outputs,
    epoch: sourceDateEpoch(),
    registry: registryOptions(flags),
  };
  if (!inBuildNamespace()) {
    // A build the cache fully covers needs no mounts and no processes: finish it here. Anything else
    // (a step to run, a tree to read) needs a private mount namespace: re-execute there, where the
    // child repeats the compile and finds what this attempt put in the cache.
    // (--no-cache always executes.)
    if (flags.cache) {
      const attempt = new BufferedReporter();
      try {
        const result = await buildImage({ ...options, progress: attempt, dryRunOnly: true });
        printDiagnostics(compiled.diagnostics);
        attempt.replay(progress);
        finish(result.warnings);
        return;
      } catch (err) {
        if (!(err instanceof NeedsExecution)) throw err;
      }
    }
    trace('re-executing in the build namespace');
    const code = await reexecInBuildNamespace();
    if (code !== undefined) {
      process.exitCode = code;
      return;
    }
  }
  trace('compiled, in the build namespace');
  printDiagnostics(compiled.diagnostics);
  const abort = new AbortController();
  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    interruptedBy ??= sig;
    abort.abort(new Error(`interrupted by ${sig}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await buildImage({ ...options, progress, signal: abort.signal });
    finish(result.warnings);
  } catch (err) {
    if (!interruptedBy) throw err;
    // Everything the build started has been torn down by now (steps release their snapshots in
    // finally blocks, the namespaces die with their processes): report the signal as a shell would.
    process.stderr.write(`rootc: build interrupted by ${interruptedBy}\n`);
    process.exitCode = 128 + (interruptedBy === 'SIGINT' ? 2 : 15);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** SOURCE_DATE_EPOCH, or 0: the same inputs give the same bytes whatever the clock. */
function sourceDateEpoch(): number {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return 0;
  if (!/^[0-9]+$/.test(v))
    throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds, not "${v}"`);
  return Number(v);
}

/** The Rootfile of a context: `-f` when given, else `Rootfile`, else `Dockerfile` in the context. */
function findRootfile(contextDir: string, explicit?: string): string {
  if (explicit) return explicit;
  for (const name of ['Rootfile', 'Dockerfile']) {
    const p = path.join(contextDir, name);
    if (existsSync(p)) return p;
  }
  throw new UsageError(`no Rootfile or Dockerfile in ${contextDir} (use -f to name one)`);
}

/** --registry-ca and --insecure-registry, shared by build, push and login. */
export function registryOptions(flags: {
  registryCa?: string[];
  insecureRegistry?: string[];
}): ClientOptions {
  return {
    caFiles: (flags.registryCa ?? []).map((f) => path.resolve(f)),
    insecureRegistries: flags.insecureRegistry ?? [],
  };
}
