/**
 * One executor per IR op that touches files (run, copy, add, remove, workdir), and the digests of each
 * step's inputs for its cache key. The executors work on a writable tree (`env.rootfs`) given by a
 * snapshot driver; every path into it is resolved inside it.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  createReadStream,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { type BuildContext, ContextError } from '../context/context.js';
import { hasWildcards, PatternMatcher } from '../context/patterns.js';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';
import { type DepEntry, resolveDeps } from '../elf/deps.js';
import { isElf } from '../elf/elf.js';
import { setOwner, singleIdMapping, singleIdRunError } from '../fsutil/owner.js';
import { cleanImagePath, resolveInRoot } from '../fsutil/securejoin.js';
import type { BlobStore } from '../image/blobstore.js';
import type { Image } from '../image/image.js';
import type { AddStep, CopyStep, Step } from '../lower/ir.js';
import { inUserNamespace } from '../sandbox/namespace.js';
import { runStep } from '../sandbox/run.js';
import { resolveUser } from '../sandbox/users.js';
import { ensureWorkdir } from '../sandbox/workdir.js';
import { fetchToStore } from '../sources/tarball.js';
import { decompressStream } from '../tar/compress.js';
import { extractTar } from '../tar/extract.js';
import { type CopySource, copyDepsIntoRootfs, copyIntoRootfs } from './copy.js';
import type { StageResult } from './interpreter.js';
import { expandInRoot, removeFromRootfs } from './remove.js';

export interface StepEnv {
  rootfs: string;
  /** The image as it is before this step (config for env and user defaults). */
  image: Image;
  context: BuildContext;
  proxyEnv: Record<string, string>;
  stages: Map<string, StageResult>;
  withTree<T>(result: StageResult, use: (dir: string) => Promise<T>): Promise<T>;
  onOutput: (line: string) => void;
  warn: (message: string) => void;
  signal?: AbortSignal;
  store?: BlobStore;
  cacheDir?: string;
}

export async function executeStep(step: Step, env: StepEnv): Promise<void> {
  switch (step.op) {
    case 'run':
      return executeRun(step, env);
    case 'copy':
      return executeCopy(step, env);
    case 'add':
      return executeAdd(step, env);
    case 'remove': {
      const result = removeFromRootfs(env.rootfs, step.paths);
      for (const p of result.unmatched) env.warn(`REMOVE: ${p} matched nothing`);
      return;
    }
    case 'workdir': {
      const owner = await resolveUser(env.rootfs, step.user || env.image.config.config.User);
      await ensureWorkdir(env.rootfs, step.path, owner);
      return;
    }
    case 'config':
      return;
  }
}

async function executeRun(step: Extract<Step, { op: 'run' }>, env: StepEnv): Promise<void> {
  // Normally refused before the build starts (checkSingleIdSteps); this catches ONBUILD triggers of a base.
  if (singleIdMapping()) throw singleIdRunError();
  const user = await resolveUser(env.rootfs, step.user || env.image.config.config.User);
  const merged = new Map<string, string>();
  for (const e of env.image.config.config.Env ?? []) {
    const eq = e.indexOf('=');
    merged.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  for (const e of step.env) {
    const eq = e.indexOf('=');
    merged.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  for (const [k, v] of Object.entries(env.proxyEnv)) if (!merged.has(k)) merged.set(k, v);
  const result = await runStep({
    rootfs: env.rootfs,
    argv: step.argv,
    env: [...merged].map(([k, v]) => `${k}=${v}`),
    user,
    workdir: step.workdir,
    network: step.network,
    ...(step.inlineFiles.length > 0 ? { inlineFiles: step.inlineFiles } : {}),
    onOutput: (l) => env.onOutput(l.line),
    ...(env.signal ? { signal: env.signal } : {}),
  });
  if (result.exitCode !== 0) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`;
    const tail = result.outputTail.length
      ? `; last output:\n${result.outputTail.map((l) => `    ${l}`).join('\n')}`
      : '';
    // A user namespace may not mknod (nor use ids outside its map): say so instead of leaving a bare EPERM.
    const notes =
      inUserNamespace() && result.outputTail.some((l) => /mknod|Operation not permitted/i.test(l))
        ? [
            {
              message:
                'this is a rootless build: a user namespace cannot create device nodes (mknod); put them in the base tarball (they are kept in the layers) or build as root',
            },
          ]
        : [];
    throw new DiagnosticError(
      error('build/run-failed', `RUN ${how}${tail}`, undefined, notes.length > 0 ? { notes } : undefined),
    );
  }
}

/** Resolved sources of a COPY/ADD: where they are on the host and how they are named at the destination. */
interface SourceSet {
  root: string;
  /** The context's .dockerignore, applied below directory sources too. */
  ignore?: PatternMatcher;
  items: (CopySource & { rel: string; wildcard: boolean })[];
}

function contextSources(step: CopyStep | AddStep, ctx: BuildContext): SourceSet {
  const items: SourceSet['items'] = [];
  for (const s of step.sources) {
    if (s.kind !== 'path') continue;
    let rels: string[];
    try {
      rels = ctx.expand(s.path);
    } catch (err) {
      if (err instanceof ContextError) throw new DiagnosticError(error('build/copy-source', err.message));
      throw err;
    }
    for (const rel of rels) {
      items.push({
        abs: ctx.resolve(rel),
        name: path.posix.basename(rel === '.' ? '' : rel) || '.',
        rel,
        wildcard: hasWildcards(s.path),
      });
    }
  }
  return { root: ctx.dir, items, ...(ctx.ignore.empty ? {} : { ignore: ctx.ignore }) };
}

function rootSources(step: CopyStep, root: string): SourceSet {
  const items: SourceSet['items'] = [];
  for (const s of step.sources) {
    if (s.kind !== 'path') continue;
    const pattern = cleanImagePath(s.path);
    const found = hasWildcards(pattern) ? expandInRoot(root, pattern) : [pattern];
    if (found.length === 0) {
      throw new DiagnosticError(
        error('build/copy-source', `no source files were specified: "${s.path}" matches nothing`),
      );
    }
    for (const p of found) {
      const abs = resolveInRoot(root, p, { followFinal: true });
      try {
        lstatSync(abs);
      } catch {
        throw new DiagnosticError(error('build/copy-source', `source "${s.path}" not found`));
      }
      items.push({ abs, name: path.posix.basename(p) || '.', rel: p, wildcard: hasWildcards(s.path) });
    }
  }
  return { root, items };
}

async function copyOwner(
  step: CopyStep | AddStep,
  env: StepEnv,
): Promise<{ uid: number; gid: number } | undefined> {
  if (!step.chown) return undefined;
  const u = await resolveUser(env.rootfs, step.chown);
  return { uid: u.uid, gid: u.gid };
}

function isDirDest(step: CopyStep | AddStep, count: number, wildcard: boolean): boolean {
  return step.dest.endsWith('/') || count > 1 || wildcard;
}

function doCopy(
  step: CopyStep | AddStep,
  env: StepEnv,
  set: SourceSet,
  owner: { uid: number; gid: number } | undefined,
  keepOwner: boolean,
): void {
  const exclude = step.exclude.length ? new PatternMatcher(step.exclude) : undefined;
  const items = exclude ? set.items.filter((i) => !exclude.matches(i.rel)) : set.items;
  const heredocs = step.sources.filter((s) => s.kind === 'heredoc');
  const destIsDir = isDirDest(
    step,
    items.length + heredocs.length,
    items.some((i) => i.wildcard),
  );
  const parents = step.op === 'copy' && step.parents;
  for (const item of items) {
    const dest =
      parents && item.rel !== '.'
        ? path.posix.join(step.dest, path.posix.dirname(item.rel)) + '/'
        : step.dest;
    copyIntoRootfs({
      rootfs: env.rootfs,
      sources: [item],
      dest,
      destIsDir: destIsDir || parents,
      ...(owner ? { owner } : keepOwner ? {} : { owner: { uid: 0, gid: 0 } }),
      ...(step.chmod !== undefined ? { mode: step.chmod } : {}),
      ...(exclude || set.ignore
        ? {
            include: (rel: string) => {
              const full = path.posix.join(item.rel, rel);
              return !exclude?.matches(full) && !set.ignore?.matches(full);
            },
          }
        : {}),
    });
  }
  for (const h of heredocs) {
    if (h.kind !== 'heredoc') continue;
    const target = destIsDir ? path.posix.join(step.dest, h.name) : step.dest;
    writeImageFile(env.rootfs, target, h.content, step.chmod ?? 0o644, owner ?? { uid: 0, gid: 0 });
  }
}

function writeImageFile(
  rootfs: string,
  imagePath: string,
  content: string | Buffer,
  mode: number,
  owner: { uid: number; gid: number },
): void {
  const clean = cleanImagePath(imagePath);
  const dir = resolveInRoot(rootfs, path.posix.dirname(clean), { followFinal: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = resolveInRoot(rootfs, clean);
  writeFileSync(file, content);
  chmodSync(file, mode);
  setOwner(file, owner.uid, owner.gid);
}

async function executeCopy(step: CopyStep, env: StepEnv): Promise<void> {
  const owner = await copyOwner(step, env);
  const from = step.from;
  if (from.kind === 'context') {
    const set = contextSources(step, env.context);
    doCopy(step, env, set, owner, false);
    if (step.deps) copyDeps(env, set, owner);
    return;
  }
  if (from.kind === 'host') {
    const set = rootSources(step, '/');
    doCopy(step, env, set, owner, false);
    if (step.deps) copyDeps(env, set, owner);
    return;
  }
  if (from.kind === 'stage') {
    const stage = env.stages.get(from.stage);
    if (!stage)
      throw new DiagnosticError(error('build/unknown-stage', `stage "${from.stage}" was not built`));
    await env.withTree(stage, async (dir) => {
      const set = rootSources(step, dir);
      doCopy(step, env, set, owner, true);
      if (step.deps) copyDeps(env, set, owner);
    });
    return;
  }
  throw new DiagnosticError(
    error('build/unsupported', `COPY --from=${from.original}: copying from an image is not supported yet`),
  );
}

/** The library closure of every ELF file copied, from the same source root, at the same paths. */
function copyDeps(env: StepEnv, set: SourceSet, owner: { uid: number; gid: number } | undefined): void {
  const programs: string[] = [];
  for (const item of set.items) {
    const st = lstatSync(item.abs);
    const imagePath = `/${path.relative(set.root, item.abs)}`;
    if (st.isFile()) {
      if (!isElf(item.abs)) {
        throw new DiagnosticError(error('build/deps-not-elf', `COPY --deps: ${item.rel} is not an ELF file`));
      }
      programs.push(imagePath);
    } else if (st.isDirectory()) {
      for (const f of walkFiles(item.abs)) if (isElf(f)) programs.push(`/${path.relative(set.root, f)}`);
    }
  }
  let entries: DepEntry[];
  try {
    entries = resolveDeps(set.root, programs).entries;
  } catch (err) {
    throw new DiagnosticError(error('build/deps', `COPY --deps: ${(err as Error).message}`));
  }
  // The programs themselves were copied by the COPY rules; copy only their libraries and symlink chains.
  const programSet = new Set(programs);
  copyDepsIntoRootfs(
    env.rootfs,
    set.root,
    entries.filter((e) => !programSet.has(e.path)),
    owner,
  );
}

function* walkFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) yield* walkFiles(p);
    else if (st.isFile()) yield p;
  }
}

async function executeAdd(step: AddStep, env: StepEnv): Promise<void> {
  const owner = await copyOwner(step, env);
  const local = contextSources(step, env.context);
  const plain: SourceSet = { root: local.root, items: [] };
  const destIsDir = isDirDest(
    step,
    step.sources.length,
    local.items.some((i) => i.wildcard),
  );
  for (const item of local.items) {
    if (step.unpack && lstatSync(item.abs).isFile() && (await isTarArchive(item.abs))) {
      const destDir = resolveInRoot(env.rootfs, cleanImagePath(step.dest), { followFinal: true });
      mkdirSync(destDir, { recursive: true, mode: 0o755 });
      const { stream } = await decompressStream(createReadStream(item.abs));
      await extractTar(stream, destDir, { whiteouts: 'keep', nodePlaceholders: true });
    } else plain.items.push(item);
  }
  doCopy({ ...step, sources: step.sources.filter((s) => s.kind !== 'url') }, env, plain, owner, false);
  for (const s of step.sources) {
    if (s.kind !== 'url') continue;
    if (!env.store || !env.cacheDir) throw new Error('ADD <url> needs the blob store');
    const digest = await fetchToStore(s.url, env.store, env.cacheDir, step.checksum);
    if (step.checksum && digest !== normalizeChecksum(step.checksum)) {
      throw new DiagnosticError(
        error('build/checksum', `ADD ${s.url}: checksum mismatch: expected ${step.checksum}, got ${digest}`),
      );
    }
    const name = decodeURIComponent(new URL(s.url).pathname.split('/').filter(Boolean).pop() ?? 'index.html');
    const target = destIsDir ? path.posix.join(step.dest, name) : step.dest;
    const clean = cleanImagePath(target);
    mkdirSync(resolveInRoot(env.rootfs, path.posix.dirname(clean), { followFinal: true }), {
      recursive: true,
      mode: 0o755,
    });
    const file = resolveInRoot(env.rootfs, clean);
    copyFileSync(env.store.path(digest), file);
    chmodSync(file, step.chmod ?? 0o600);
    setOwner(file, owner?.uid ?? 0, owner?.gid ?? 0);
  }
}

function normalizeChecksum(c: string): string {
  return c.includes(':') ? c.toLowerCase() : `sha256:${c.toLowerCase()}`;
}

/** A tar archive, possibly compressed (gzip, bzip2, xz, zstd): Docker's ADD extracts those. */
async function isTarArchive(file: string): Promise<boolean> {
  try {
    const { stream } = await decompressStream(createReadStream(file));
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= 512) break;
    }
    stream.destroy();
    const head = Buffer.concat(chunks);
    return head.length >= 512 && head.toString('latin1', 257, 262) === 'ustar';
  } catch {
    return false;
  }
}

/** Digests of what a step reads besides the image: context files, other stages, host files, downloads. */
export async function stepInputDigests(
  step: Step,
  env: { context: BuildContext; stages: Map<string, StageResult>; store: BlobStore; cacheDir: string },
): Promise<Record<string, string>> {
  const inputs: Record<string, string> = {};
  if (step.op === 'copy' || step.op === 'add') {
    const from = step.op === 'copy' ? step.from : ({ kind: 'context' } as const);
    for (const s of step.sources) {
      if (s.kind === 'path') {
        if (from.kind === 'context') {
          let rels: string[];
          try {
            rels = env.context.expand(s.path);
          } catch (err) {
            if (err instanceof ContextError)
              throw new DiagnosticError(error('build/copy-source', err.message));
            throw err;
          }
          inputs[`context:${s.path}`] = await env.context.digest(rels);
        } else if (from.kind === 'host') {
          inputs[`host:${s.path}`] = hostDigest(s.path, step.op === 'copy' && step.deps);
        } else if (from.kind === 'stage') {
          inputs[`stage:${from.stage}`] = env.stages.get(from.stage)?.key ?? 'missing';
        }
      } else if (s.kind === 'url') {
        const digest = await fetchToStore(
          s.url,
          env.store,
          env.cacheDir,
          step.op === 'add' && step.checksum ? normalizeChecksum(step.checksum) : undefined,
        );
        inputs[`url:${s.url}`] = digest;
      }
    }
  }
  return inputs;
}

/** Content digest of host files (and, with --deps, of their library closure). */
function hostDigest(pattern: string, deps: boolean): string {
  const h = createHash('sha256');
  const paths = hasWildcards(pattern)
    ? expandInRoot('/', cleanImagePath(pattern))
    : [cleanImagePath(pattern)];
  const files = new Set<string>();
  for (const p of paths) {
    const abs = resolveInRoot('/', p, { followFinal: true });
    try {
      const st = lstatSync(abs);
      if (st.isDirectory()) for (const f of walkFiles(abs)) files.add(f);
      else files.add(abs);
    } catch {
      h.update(`missing\0${p}\0`);
    }
  }
  if (deps) {
    try {
      for (const e of resolveDeps('/', [...files].filter(isElf)).entries) {
        if (e.kind === 'file') files.add(e.path);
        else h.update(`link\0${e.path}\0${e.target}\0`);
      }
    } catch {
      // The copy itself reports the missing library with its chain.
    }
  }
  for (const f of [...files].sort()) {
    const st = lstatSync(f);
    h.update(`${f}\0${st.mode}\0${st.size}\0`);
    h.update(fileHash(f));
  }
  return `sha256:${h.digest('hex')}`;
}

function fileHash(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
