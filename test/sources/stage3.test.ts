/**
 * FROM stage3 at the source level: a stage3-like release served over HTTP on 127.0.0.1, signed with a throwaway
 * OpenPGP key and checked with the real gpgv; every failed check refused with its own diagnostic code.
 */

import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { DiagnosticError } from '../../src/diagnostics/diagnostic.js';
import { materializeImage } from '../../src/sources/source.js';
import {
  clearsignedText,
  judgeGpgvStatus,
  parseDigests,
  type Stage3Spec,
  stage3Source,
} from '../../src/sources/stage3.js';
import { requireTools, tempDir } from '../support/index.js';
import { sourceContext } from './helpers.js';
import { makeStage3Release, STAGE3_NAME, type Stage3Release } from './stage3-fixture.js';

const context = sourceContext;

async function refusal(spec: Stage3Spec): Promise<Diagnostic> {
  try {
    await stage3Source.resolve(spec, context());
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics[0]!;
    throw e;
  }
  throw new Error('expected the build to be refused');
}

describe('DIGESTS and gpgv status parsing', () => {
  it('reads catalyst sections and matches names', () => {
    const d = parseDigests(
      `# BLAKE2B HASH\n${'a'.repeat(128)}  stage3.tar.xz\n# SHA512 HASH\n${'B'.repeat(128)}  stage3.tar.xz\n# SHA512 HASH\n${'c'.repeat(128)} *stage3.tar.xz.CONTENTS.gz\n`,
    );
    expect(d.get('SHA512')?.get('stage3.tar.xz')).toBe('b'.repeat(128));
    expect(d.get('SHA512')?.get('stage3.tar.xz.CONTENTS.gz')).toBe('c'.repeat(128));
    expect(d.get('BLAKE2B')?.get('stage3.tar.xz')).toBe('a'.repeat(128));
  });
  it('undoes dash-escaping of a clearsigned body', () => {
    const t =
      '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n# SHA512 HASH\n- -dash\n-----BEGIN PGP SIGNATURE-----\nxx\n';
    expect(clearsignedText(t)).toBe('# SHA512 HASH\n-dash\n');
  });
  it('judges status lines, not the exit code alone', () => {
    expect(
      judgeGpgvStatus('[GNUPG:] GOODSIG K n\n[GNUPG:] VALIDSIG FPR 2026 1 0 4 0 1 10 01 PRIMARY\n', 0),
    ).toEqual({
      ok: true,
      fingerprint: 'PRIMARY',
    });
    expect(judgeGpgvStatus('[GNUPG:] BADSIG K n\n', 1)).toMatchObject({ ok: false, reason: 'bad' });
    expect(judgeGpgvStatus('[GNUPG:] ERRSIG K 1 10 01 0 9 FPR\n[GNUPG:] NO_PUBKEY K\n', 2)).toMatchObject({
      ok: false,
      reason: 'unknown-key',
      keyId: 'FPR',
    });
    expect(judgeGpgvStatus('[GNUPG:] NODATA 1\n', 2)).toMatchObject({ ok: false, reason: 'no-signature' });
    // exit 0 without VALIDSIG (or a good and a bad signature) is not good enough.
    expect(judgeGpgvStatus('', 0)).toMatchObject({ ok: false });
    expect(judgeGpgvStatus('[GNUPG:] VALIDSIG F 1 2 3 4 5 6 7 8 F\n[GNUPG:] BADSIG K n\n', 0)).toMatchObject({
      ok: false,
      reason: 'bad',
    });
  });
});

describe('FROM stage3 over HTTP with a keyring', () => {
  if (!requireTools('gpg', 'gpgv', 'xz', 'root')) return;
  let rel: Stage3Release;
  beforeAll(async () => {
    rel = await makeStage3Release(await tempDir('stage3-release'));
  }, 60_000);
  afterAll(async () => rel?.close());

  const spec = (variant: string, extra: Partial<Stage3Spec> = {}): Stage3Spec => ({
    source: { type: 'url', url: rel.url(variant) },
    keyring: rel.keyring,
    ...extra,
  });

  it('verifies a clearsigned DIGESTS and the SHA512, then gives one layer with the device nodes', async () => {
    const ctx = context();
    const { image, digest } = await stage3Source.resolve(spec('good'), ctx);
    expect(image.layers).toHaveLength(1);
    expect(digest).toBe(image.layers[0]!.diffId);
    expect(ctx.warnings).toEqual([]);
    const root = await tempDir('stage3-root');
    const report = await materializeImage(ctx.store, image, root);
    expect(readlinkSync(path.join(root, 'bin/sh'))).toBe('busybox');
    expect(lstatSync(path.join(root, 'dev/null')).isCharacterDevice()).toBe(true);
    expect(lstatSync(path.join(root, 'dev/sda')).isBlockDevice()).toBe(true);
    expect(report.skippedNodes).toEqual([]);
    // The second resolve is served from the index: same layer, no new download needed.
    const again = await stage3Source.resolve(spec('good'), ctx);
    expect(again.image.layers[0]).toEqual(image.layers[0]);
  });

  it('accepts a plain DIGESTS with a detached .DIGESTS.asc, and an ASCII-armored keyring', async () => {
    const a = await stage3Source.resolve(spec('detached', { keyring: rel.armoredKeyring }), context());
    const b = await stage3Source.resolve(spec('good'), context());
    expect(a.image.layers[0]!.diffId).toBe(b.image.layers[0]!.diffId);
  });

  it('accepts --digests= pointing elsewhere', async () => {
    const r = await stage3Source.resolve(
      spec('tampered-digests', { digests: { type: 'url', url: `${rel.url('good')}.DIGESTS` } }),
      context(),
    );
    expect(r.image.layers).toHaveLength(1);
  });

  it('refuses a tampered tarball (SHA512 mismatch)', async () => {
    const d = await refusal(spec('tampered-tarball'));
    expect(d.code).toBe('source/stage3-sha512-mismatch');
    expect(d.message).toContain(`SHA512 mismatch for ${STAGE3_NAME}`);
  });

  it('refuses a tampered DIGESTS (the signature fails)', async () => {
    const d = await refusal(spec('tampered-digests'));
    expect(d.code).toBe('source/stage3-bad-signature');
    expect(d.message).toMatch(/BAD OpenPGP signature/);
  });

  it('refuses a signature by a key that is not in the keyring', async () => {
    const d = await refusal(spec('other-key'));
    expect(d.code).toBe('source/stage3-unknown-key');
    expect(d.message).toContain('not in the keyring');
  });

  it('refuses a DIGESTS without a SHA512 line for the file', async () => {
    const d = await refusal(spec('no-sha512'));
    expect(d.code).toBe('source/stage3-no-sha512');
    expect(d.message).toContain(`no SHA512 line for ${STAGE3_NAME}`);
  });

  it('refuses an unsigned DIGESTS when a keyring was given', async () => {
    const d = await refusal(spec('unsigned'));
    expect(d.code).toBe('source/stage3-no-signature');
  });

  it('without --keyring checks the SHA512 and warns that the signature was not checked', async () => {
    const ctx = context();
    await stage3Source.resolve({ source: { type: 'url', url: rel.url('unsigned') } }, ctx);
    expect(ctx.warnings.map((w) => w.code)).toEqual(['source/stage3-unverified']);
    const d = await refusal({ source: { type: 'url', url: rel.url('tampered-tarball') } });
    expect(d.code).toBe('source/stage3-sha512-mismatch');
  });

  it('reads a local tarball and its DIGESTS next to it', async () => {
    const ctx = { ...context(), baseDir: path.join(rel.dir, 'good') };
    const r = await stage3Source.resolve(
      { source: { type: 'path', path: STAGE3_NAME }, keyring: rel.keyring },
      ctx,
    );
    expect(r.image.layers).toHaveLength(1);
    const missing = await refusal({
      source: { type: 'path', path: path.join(rel.dir, 'nowhere', STAGE3_NAME) },
    });
    expect(missing.code).toBe('source/stage3-no-digests');
  });
});
