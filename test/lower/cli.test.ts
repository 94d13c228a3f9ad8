/** `rootc check` and `rootc ir`, run in-process through commander (no build needed). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerCheck } from '../../src/cli/commands/check.js';
import { registerIr } from '../../src/cli/commands/ir.js';
import { UsageError } from '../../src/cli/output.js';

async function rootc(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  process.exitCode = 0;
  const program = new Command().exitOverride();
  registerCheck(program);
  registerIr(program);
  let code = 0;
  try {
    await program.parseAsync(['node', 'rootc', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = e instanceof UsageError ? 2 : 1;
    if (e instanceof UsageError) stderr += `rootc: ${e.message}\n`;
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = 0;
  }
  return { code, stdout, stderr };
}

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rootc-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

afterEach(() => vi.restoreAllMocks());

describe('rootc check', () => {
  it('exits 0 and prints nothing for a good file, 1 with compiler-style errors for a bad one', async () => {
    const dir = fixture({ good: 'FROM scratch\nCOPY a /a\n', bad: 'FROM scratch\nCOPY --fromm=x a /a\n' });
    expect(await rootc('check', path.join(dir, 'good'))).toEqual({ code: 0, stdout: '', stderr: '' });
    const bad = await rootc('check', path.join(dir, 'good'), path.join(dir, 'bad'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      `${path.join(dir, 'bad')}:2:6: error: unknown flag --fromm for COPY (did you mean --from?)\n` +
        '  2 | COPY --fromm=x a /a\n' +
        '    |      ^~~~~~~~~\n',
    );
  });

  it('takes --build-arg and --target; warnings alone exit 0', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Rootfile text
    const dir = fixture({ Rootfile: 'FROM scratch AS a\nARG V\nLABEL v=${V:?needed}\nFROM scratch AS b\n' });
    const file = path.join(dir, 'Rootfile');
    expect((await rootc('check', file, '--target', 'a')).code).toBe(1);
    expect((await rootc('check', file, '--target', 'a', '--build-arg', 'V=1')).code).toBe(0);
    expect((await rootc('check', file)).code).toBe(0); // b, the last stage, does not need a
    const warned = await rootc('check', file, '--target', 'b', '--build-arg', 'W=2');
    expect(warned).toMatchObject({
      code: 0,
      stderr: 'rootc: warning: build argument W was not consumed: no ARG declares it\n',
    });
  });

  it('exits 2 for a missing file', async () => {
    expect(await rootc('check', '/nonexistent/Rootfile')).toMatchObject({ code: 2 });
  });
});

describe('rootc ir', () => {
  it('prints the IR as indented JSON', async () => {
    const dir = fixture({ Rootfile: 'FROM scratch\nARG V=1\nENV V=$V\n' });
    const r = await rootc('ir', path.join(dir, 'Rootfile'), '--build-arg', 'V=2');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('{\n  "version": 1,')).toBe(true);
    const ir = JSON.parse(r.stdout);
    expect(ir.stages[0].steps[0].change).toEqual({ field: 'Env', env: [['V', '2']] });
  });

  it('prints nothing on stdout and exits 1 on errors', async () => {
    const dir = fixture({ Rootfile: 'FROM scratch\nEXPOSE 0\n' });
    const r = await rootc('ir', path.join(dir, 'Rootfile'));
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toContain('error: invalid port 0');
  });
});
