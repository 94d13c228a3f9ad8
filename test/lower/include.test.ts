import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRootfile } from '../../src/lower/index.js';
import { compile, envOf, runs, STDLIB, steps } from './helpers.js';

describe('INCLUDE', () => {
  it('splices a fragment relative to the including file, parameters set by KEY=VALUE', () => {
    const files = {
      'lib/frag.rootfile': 'ARG GREETING=hi\nARG WHO\nRUN echo "$GREETING $WHO"\nINCLUDE ./more.rootfile\n',
      'lib/more.rootfile': 'LABEL more=yes\n',
    };
    const st = steps('FROM scratch\nINCLUDE lib/frag.rootfile WHO=world\n', { files });
    expect(st.map((s) => s.op)).toEqual(['run', 'config']);
    expect(envOf(st[0] as never)).toMatchObject({ GREETING: 'hi', WHO: 'world' });
    expect(st[0]!.location).toMatchObject({
      file: 'lib/frag.rootfile',
      line: 3,
      includeChain: [{ file: 'Rootfile', line: 2 }],
    });
    expect(st[1]!.location.includeChain.map((c) => c.file)).toEqual(['Rootfile', 'lib/frag.rootfile']);
  });

  it("ends the fragment's ARGs with it but keeps what its ENV set", () => {
    const files = { 'f.rootfile': 'ARG P\nARG Q=q\nENV P=$P\n' };
    const rs = runs('FROM scratch\nARG Q=outer\nINCLUDE ./f.rootfile P=1 Q=2\nRUN x\n', { files });
    const { PATH: _p, ...env } = envOf(rs[0]!);
    expect(env).toEqual({ Q: 'outer', P: '1' });
  });

  it('rejects unknown parameters with a suggestion and requires ARGs without default', () => {
    const files = { 'f.rootfile': 'ARG NAME\nARG USER_ID=1\n' };
    const c = compile('FROM scratch\nINCLUDE ./f.rootfile USERID=3\n', { files });
    expect(c.errors).toEqual([
      'INCLUDE ./f.rootfile: no parameter USERID (did you mean USER_ID?)',
      'parameter NAME of this fragment has no default: set it with INCLUDE … NAME=<value>',
    ]);
  });

  it('reports a cycle with the include chain in notes', () => {
    const files = { 'a.rootfile': 'INCLUDE ./b.rootfile\n', 'b.rootfile': 'INCLUDE ./a.rootfile\n' };
    const c = compile('FROM scratch\nINCLUDE ./a.rootfile\n', { files });
    expect(c.errors).toEqual(['INCLUDE cycle: Rootfile → a.rootfile → b.rootfile → a.rootfile']);
    const d = c.diagnostics[0]!;
    expect(d.location?.file).toBe('b.rootfile');
    expect(d.notes?.map((n) => `${n.location?.file}:${n.location?.range.start.line}`)).toEqual([
      'a.rootfile:1',
      'Rootfile:2',
    ]);
  });

  it('finds stdlib fragments by name and suggests close names', () => {
    const c = compile('FROM scratch\nINCLUDE strip-dcos\n', { stdlibNames: ['strip-docs', 'users'] });
    expect(c.errors).toEqual(['unknown stdlib fragment "strip-dcos" (did you mean strip-docs?)']);
    const st = steps('FROM scratch\nINCLUDE strip-docs\n', {
      stdlibDir: STDLIB,
      readFile: (p) => readFileSync(p, 'utf8'),
    });
    expect(st[0]).toMatchObject({ op: 'remove', location: { file: '<stdlib>/strip-docs.rootfile' } });
  });

  it('refuses FROM in a fragment and INCLUDE before FROM', () => {
    expect(compile('FROM scratch\nINCLUDE ./f\n', { files: { f: 'FROM alpine\n' } }).errors).toEqual([
      'an INCLUDE fragment cannot contain FROM',
    ]);
    expect(compile('INCLUDE users\nFROM scratch\n').errors).toEqual([
      'INCLUDE must come after FROM: only ARG may come before the first FROM',
    ]);
  });

  it('every stdlib fragment compiles, without warnings', () => {
    const required: Record<string, string> = { users: ' NAME=app' };
    const names = readdirSync(STDLIB)
      .filter((f) => f.endsWith('.rootfile'))
      .map((f) => f.slice(0, -'.rootfile'.length));
    expect(names).toEqual(expect.arrayContaining(['users', 'nonroot', 'strip-docs', 'debian-minimize']));
    for (const name of names) {
      const params = required[name] ?? '';
      const c = compile(`FROM debian\nINCLUDE ${name}${params}\n`, {
        stdlibDir: STDLIB,
        readFile: (p) => readFileSync(path.resolve(p), 'utf8'),
      });
      expect(c.errors, name).toEqual([]);
      expect(c.warnings, name).toEqual([]);
    }
  });
});

describe('INCLUDE paths', () => {
  it('detects a self-include whatever the spelling of the root path', () => {
    const text = 'FROM scratch\nINCLUDE ./Rootfile\n';
    const r = compileRootfile('./dir/Rootfile', text, {
      buildArgs: {},
      stdlibDir: '/stdlib',
      readFile: (p) => (p === 'dir/Rootfile' ? text : undefined),
    });
    expect(r.diagnostics.map((d) => d.message)).toEqual(['INCLUDE cycle: ./dir/Rootfile → dir/Rootfile']);
  });
});

describe('INCLUDE scope on an image base', () => {
  it('gives back the assumed PATH after a fragment ARG named PATH', () => {
    const rs = runs('FROM debian\nINCLUDE ./f.rootfile\nRUN after\n', {
      files: { 'f.rootfile': 'ARG PATH=/frag/bin\nRUN inside\n' },
    });
    expect(rs.map((r) => r.env)).toEqual([['PATH=/frag/bin'], []]);
  });
});
