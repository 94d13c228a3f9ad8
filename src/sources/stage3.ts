import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DiagnosticError, type SourceLocation, warning } from '../diagnostics/diagnostic.js';
import { appendLayer, emptyImage } from '../image/image.js';
import type { Layer } from '../image/layer.js';
import type { Origin } from '../lower/ir.js';
import { fail, findExecutable, hashFile, localPath, readJson, runTool, writeJsonAtomic } from './common.js';
import type { ResolvedSource, Source, SourceContext } from './source.js';
import { fetchToStore, tarballToLayer } from './tarball.js';

/**
 * `FROM stage3 <path|url> [--digests=<path|url>] [--keyring=<file>]`: a Gentoo stage3 tarball, checked before
 * anything is extracted.
 *
 * The DIGESTS file (default `<tarball>.DIGESTS`, else `<tarball>.DIGESTS.asc`) is catalyst's format: sections
 * `# <ALGO> HASH` each followed by `<hex>  <file name>`. Its signature is either inline (a clearsigned
 * DIGESTS, as Gentoo publishes since 2021, or the older clearsigned `.DIGESTS.asc` copy) or detached
 * (`<digests>.asc` / `<digests>.sig` next to it). With `--keyring`, `gpgv --keyring FILE` checks it; the
 * verdict comes from its `--status-fd` lines (VALIDSIG and no BADSIG/ERRSIG), not from the exit code alone,
 * and the hashes are read only from the text gpgv says was signed (`--output`), so unsigned text around a
 * clearsigned block cannot smuggle a hash in. Then the tarball's SHA512 line (matched by file name) is
 * checked, and only then is the tarball turned into a layer.
 */
export interface Stage3Spec {
  source: Origin;
  digests?: Origin;
  /** A keyring file (binary or ASCII-armored public keys), relative to the build context. */
  keyring?: string;
}

const NORMALIZE_VERSION = 1;
const MAX_DIGESTS_BYTES = 4 << 20;
const CLEARSIGN_HEADER = '-----BEGIN PGP SIGNED MESSAGE-----';

const originText = (o: Origin) => (o.type === 'url' ? o.url : o.path);
const withSuffix = (o: Origin, suffix: string): Origin =>
  o.type === 'url' ? { type: 'url', url: `${o.url}${suffix}` } : { type: 'path', path: `${o.path}${suffix}` };

/** The file name a DIGESTS line names for this tarball (the URL path's or the path's last component). */
export function stage3FileName(o: Origin): string {
  if (o.type === 'path') return path.basename(o.path);
  try {
    return decodeURIComponent(path.posix.basename(new URL(o.url).pathname));
  } catch {
    return path.posix.basename(o.url);
  }
}

/** `# SHA512 HASH` → `{ SHA512: Map(file name → lower-case hex) }`, for every algorithm section. */
export function parseDigests(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let algo: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const header = /^#\s*([A-Za-z0-9_-]+)\s+HASH\s*$/i.exec(line);
    if (header) {
      algo = header[1]!.toUpperCase();
      continue;
    }
    if (line.startsWith('#') || !algo) continue;
    // `<hex>  <name>` (sha512sum's text mode) or `<hex> *<name>` (binary mode).
    const m = /^([0-9a-fA-F]+)\s+\*?(.+)$/.exec(line);
    if (!m) continue;
    let files = out.get(algo);
    if (!files) {
      files = new Map();
      out.set(algo, files);
    }
    files.set(path.posix.basename(m[2]!.trim()), m[1]!.toLowerCase());
  }
  return out;
}

/** The text of a clearsigned message, dash-escaping undone, without checking anything (no keyring given). */
export function clearsignedText(text: string): string {
  const lines = text.split(/\r?\n/);
  let i = lines.findIndex((l) => l.trim() === CLEARSIGN_HEADER);
  if (i < 0) return text;
  i++;
  while (i < lines.length && lines[i]!.trim() !== '') i++; // armor headers (Hash: …)
  const body: string[] = [];
  for (i++; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('-----BEGIN PGP SIGNATURE-----')) break;
    body.push(l.startsWith('- ') ? l.slice(2) : l);
  }
  return `${body.join('\n')}\n`;
}

export type SignatureVerdict =
  | { ok: true; fingerprint: string }
  | { ok: false; reason: 'bad' | 'unknown-key' | 'no-signature' | 'error'; keyId?: string; detail?: string };

/**
 * Reads gpgv's `--status-fd` lines (GnuPG's doc/DETAILS). Good only when some signature is VALIDSIG, none is
 * BADSIG or ERRSIG, and gpgv exited 0: a valid signature next to a bad one is not good enough.
 */
export function judgeGpgvStatus(status: string, exitCode: number | null): SignatureVerdict {
  let valid: string | undefined;
  let bad: string | undefined;
  let errKey: string | undefined;
  let errRc: string | undefined;
  let noData = false;
  for (const line of status.split('\n')) {
    const m = /^\[GNUPG:\] (\S+)(?: (.*))?$/.exec(line.trim());
    if (!m) continue;
    const args = (m[2] ?? '').split(' ');
    switch (m[1]) {
      case 'VALIDSIG':
        valid ??= args[9] ?? args[0];
        break;
      case 'BADSIG':
        bad ??= args[0];
        break;
      case 'ERRSIG':
        errKey ??= args[6] && args[6] !== '-' ? args[6] : args[0];
        errRc ??= args[5];
        break;
      case 'NO_PUBKEY':
        errKey ??= args[0];
        errRc ??= '9';
        break;
      case 'NODATA':
        noData = true;
        break;
    }
  }
  if (bad) return { ok: false, reason: 'bad', keyId: bad };
  if (errKey) {
    return errRc === '9'
      ? { ok: false, reason: 'unknown-key', keyId: errKey }
      : { ok: false, reason: 'error', keyId: errKey, detail: `ERRSIG rc ${errRc}` };
  }
  if (valid && exitCode === 0) return { ok: true, fingerprint: valid };
  if (noData || !valid) return { ok: false, reason: 'no-signature' };
  return { ok: false, reason: 'error', detail: `gpgv exited with ${exitCode}` };
}

/** gpgv reads binary keyrings only: an ASCII-armored export is decoded here (RFC 4880 §6.2). */
export function dearmorKeyring(data: Buffer): Buffer {
  const text = data.toString('latin1');
  if (!text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return data;
  const parts: Buffer[] = [];
  const re = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const lines = m[1]!.split(/\r?\n/);
    // Armor headers end at the first blank line (there may be none).
    const blank = lines.findIndex((l) => l.trim() === '');
    const hasHeaders = lines.slice(0, Math.max(blank, 0)).some((l) => /^[A-Za-z-]+: /.test(l));
    const body = (hasHeaders ? lines.slice(blank + 1) : lines).filter(
      (l) => l.trim() !== '' && !l.startsWith('='),
    );
    parts.push(Buffer.from(body.join(''), 'base64'));
  }
  return Buffer.concat(parts);
}

interface Fetched {
  origin: Origin;
  bytes: Buffer;
}

/** Reads a small file (DIGESTS, a signature) from a path or URL; undefined when it does not exist (404, ENOENT). */
async function fetchSmall(o: Origin, ctx: SourceContext): Promise<Fetched | undefined> {
  const loc = ctx.location;
  if (o.type === 'path') {
    const abs = path.resolve(ctx.baseDir ?? process.cwd(), o.path);
    try {
      const bytes = readFileSync(abs);
      if (bytes.length > MAX_DIGESTS_BYTES)
        throw fail('source/stage3-digests', `${o.path} is too large`, loc);
      return { origin: o, bytes };
    } catch (e) {
      if (e instanceof DiagnosticError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') return undefined;
      throw fail('source/stage3-digests', `cannot read ${o.path}: ${code ?? (e as Error).message}`, loc);
    }
  }
  let res: Response;
  try {
    res = await fetch(o.url, { redirect: 'follow' });
  } catch (e) {
    throw fail('source/download', `cannot download ${o.url}: ${(e as Error).message}`, loc);
  }
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw fail('source/download', `cannot download ${o.url}: HTTP ${res.status} ${res.statusText}`, loc);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length > MAX_DIGESTS_BYTES) throw fail('source/stage3-digests', `${o.url} is too large`, loc);
  return { origin: o, bytes };
}

const isClearsigned = (b: Buffer) =>
  b.subarray(0, 200).toString('latin1').trimStart().startsWith(CLEARSIGN_HEADER);

class Gpgv {
  private readonly dir: string;
  private readonly keyring: string;
  constructor(
    keyringFile: string,
    private readonly bin: string,
    tmpRoot: string,
    private readonly keyringLabel: string,
    private readonly location?: SourceLocation,
  ) {
    this.dir = path.join(tmpRoot, `stage3-gpgv-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(path.join(this.dir, 'home'), { recursive: true, mode: 0o700 });
    this.keyring = path.join(this.dir, 'keyring.gpg');
    writeFileSync(this.keyring, dearmorKeyring(readFileSync(keyringFile)));
  }

  /** Verifies `sig` (clearsigned, or detached over `data`); returns the signed text. Throws the failed check. */
  async verify(sig: Fetched, data?: Fetched): Promise<Buffer> {
    const sigFile = path.join(this.dir, data ? 'digests.sig' : 'digests.asc');
    const out = path.join(this.dir, `signed-${randomBytes(4).toString('hex')}`);
    writeFileSync(sigFile, sig.bytes);
    const args = ['--homedir', path.join(this.dir, 'home'), '--status-fd', '1', '--keyring', this.keyring];
    args.push('--output', out, sigFile);
    if (data) {
      const dataFile = path.join(this.dir, 'digests');
      writeFileSync(dataFile, data.bytes);
      args.push(dataFile);
    }
    const r = await runTool(this.bin, args, { env: { ...process.env, LC_ALL: 'C' } });
    const verdict = judgeGpgvStatus(r.stdout, r.code);
    const what = originText(sig.origin);
    const signedText = data ? originText(data.origin) : what;
    if (!verdict.ok) {
      switch (verdict.reason) {
        case 'bad':
          throw fail(
            'source/stage3-bad-signature',
            `BAD OpenPGP signature on ${signedText} (key ${verdict.keyId}): the DIGESTS file was changed after it was signed`,
            this.location,
          );
        case 'unknown-key':
          throw fail(
            'source/stage3-unknown-key',
            `${signedText} is signed by key ${verdict.keyId}, which is not in the keyring ${this.keyringLabel}`,
            this.location,
          );
        case 'no-signature':
          throw fail(
            'source/stage3-no-signature',
            `${what} holds no OpenPGP signature gpgv could read, but --keyring was given`,
            this.location,
          );
        default:
          throw fail(
            'source/stage3-signature',
            `cannot verify the OpenPGP signature of ${signedText}: ${verdict.detail ?? ''} ${lastLine(r.stderr)}`.trim(),
            this.location,
          );
      }
    }
    return data ? data.bytes : readFileSync(out);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** Finds the DIGESTS text to trust: verified with the keyring, or (without one) as is, with a warning. */
async function loadDigests(spec: Stage3Spec, ctx: SourceContext): Promise<{ text: string; label: string }> {
  const loc = ctx.location;
  const primary = spec.digests ?? withSuffix(spec.source, '.DIGESTS');
  let digests = await fetchSmall(primary, ctx);
  if (!digests && !spec.digests) digests = await fetchSmall(withSuffix(spec.source, '.DIGESTS.asc'), ctx);
  if (!digests) {
    throw fail(
      'source/stage3-no-digests',
      spec.digests
        ? `DIGESTS file ${originText(primary)} not found`
        : `no DIGESTS file for ${originText(spec.source)} (tried .DIGESTS and .DIGESTS.asc next to it; --digests= names another)`,
      loc,
    );
  }
  const label = originText(digests.origin);

  if (!spec.keyring) {
    ctx.warn?.(
      warning(
        'source/stage3-unverified',
        `the OpenPGP signature of ${label} was not checked (no --keyring): only the tarball's SHA512 is verified`,
        loc,
      ),
    );
    const text = digests.bytes.toString('utf8');
    return { text: isClearsigned(digests.bytes) ? clearsignedText(text) : text, label };
  }

  const keyringFile = localPath(spec.keyring, ctx, 'file', 'source/stage3-keyring', 'keyring');
  const bin = findExecutable('gpgv');
  if (!bin) {
    throw fail(
      'source/stage3-no-gpgv',
      'gpgv is not installed (Debian package gpgv or gnupg); it is needed to check --keyring signatures',
      loc,
    );
  }
  const gpgv = new Gpgv(keyringFile, bin, path.join(ctx.cacheDir, 'tmp'), spec.keyring, loc);
  try {
    if (isClearsigned(digests.bytes)) return { text: (await gpgv.verify(digests)).toString('utf8'), label };
    // A plain DIGESTS: its signature is next to it, detached (or, in older Gentoo releases, a clearsigned copy).
    for (const suffix of ['.asc', '.sig']) {
      const sig = await fetchSmall(withSuffix(digests.origin, suffix), ctx);
      if (!sig) continue;
      const text = isClearsigned(sig.bytes) ? await gpgv.verify(sig) : await gpgv.verify(sig, digests);
      return {
        text: text.toString('utf8'),
        label: isClearsigned(sig.bytes) ? originText(sig.origin) : label,
      };
    }
    throw fail(
      'source/stage3-no-signature',
      `${label} is not signed (not clearsigned, and no ${path.posix.basename(label)}.asc or .sig next to it), but --keyring was given`,
      loc,
    );
  } finally {
    gpgv.close();
  }
}

interface Stage3Index {
  version: number;
  layer: Layer;
  warnings: string[];
}

export const stage3Source: Source<Stage3Spec> = {
  kind: 'stage3',
  async resolve(spec: Stage3Spec, ctx: SourceContext): Promise<ResolvedSource> {
    const loc = ctx.location;
    const name = stage3FileName(spec.source);
    const { text, label } = await loadDigests(spec, ctx);
    const sums = parseDigests(text);
    const expected = sums.get('SHA512')?.get(name);
    if (!expected) {
      const named = [...(sums.get('SHA512')?.keys() ?? [])];
      throw fail(
        'source/stage3-no-sha512',
        `${label} has no SHA512 line for ${name}${named.length > 0 ? ` (it lists ${named.join(', ')})` : ''}`,
        loc,
      );
    }
    if (!/^[0-9a-f]{128}$/.test(expected))
      throw fail(
        'source/stage3-no-sha512',
        `${label}: the SHA512 line for ${name} is not 128 hex digits`,
        loc,
      );

    const compression = ctx.compression ?? 'gzip';
    const indexFile = path.join(ctx.cacheDir, 'sources', 'stage3', `${expected}-${compression}.json`);
    let index = readJson<Stage3Index>(indexFile);
    if (!index || index.version !== NORMALIZE_VERSION || !ctx.store.has(index.layer.digest)) {
      let file: string;
      if (spec.source.type === 'url') {
        const digest = await fetchToStore(spec.source.url, ctx.store, ctx.cacheDir, undefined, loc);
        file = ctx.store.path(digest);
      } else {
        file = localPath(spec.source.path, ctx, 'file', 'source/tarball-missing', 'stage3 tarball');
      }
      const actual = await hashFile(file, 'sha512');
      if (actual !== expected) {
        throw fail(
          'source/stage3-sha512-mismatch',
          `SHA512 mismatch for ${name}: ${label} says ${expected.slice(0, 16)}…, the tarball is ${actual.slice(0, 16)}… (tampered or truncated download)`,
          loc,
        );
      }
      const warnings: string[] = [];
      let layer: Layer;
      try {
        layer = await tarballToLayer(
          (): Readable => createReadStream(file, { highWaterMark: 1 << 20 }),
          ctx.store,
          { compression, onWarning: (m) => warnings.push(m), tap: ctx.bottomLayerTap?.() },
        );
      } catch (e) {
        if (e instanceof DiagnosticError) throw e;
        throw fail(
          'source/tarball-invalid',
          `${name} is not a readable tar archive: ${(e as Error).message}`,
          loc,
        );
      }
      index = { version: NORMALIZE_VERSION, layer, warnings };
      writeJsonAtomic(indexFile, index);
    }
    if (index.warnings.length > 0 && ctx.warn) {
      const shown = index.warnings.slice(0, 5).join('; ');
      const more = index.warnings.length > 5 ? ` (and ${index.warnings.length - 5} more)` : '';
      ctx.warn(warning('source/tarball-normalized', `${name}: ${shown}${more}`, loc));
    }
    const image = appendLayer(emptyImage(), index.layer, {
      created_by: `FROM stage3 ${name} sha512:${expected.slice(0, 16)}`,
    });
    return { image, digest: index.layer.diffId };
  },
};
