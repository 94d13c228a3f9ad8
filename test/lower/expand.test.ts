// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are shell words, not templates
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envFromList, expandWord, expandWords, reversePattern } from '../../src/lower/expand.js';

const here = new URL('.', import.meta.url).pathname;

describe("BuildKit's envVarTest", () => {
  const env = envFromList(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL=']);
  const lines = readFileSync(`${here}envVarTest.txt`, 'utf8').split('\n');
  const cases = lines
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => !line.startsWith('#') && line.trim() !== '')
    .map(({ line, n }) => {
      const parts = line.trim().split('|');
      return { n, platform: parts[0]!.trim(), source: parts[1]!.trim(), expected: parts[2]!.trim() };
    })
    .filter((c) => c.platform !== 'W');
  it.each(cases)('line $n: $source → $expected', ({ source, expected }) => {
    const r = expandWord(source, env);
    if (expected === 'error') expect(r.ok, JSON.stringify(r)).toBe(false);
    else {
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) expect(r.value).toBe(expected);
    }
  });
});

describe("BuildKit's wordsTest", () => {
  const lines = readFileSync(`${here}wordsTest.txt`, 'utf8').split('\n');
  const env: string[] = [];
  const cases: { n: number; input: string; expected: string[]; env: string[] }[] = [];
  lines.forEach((line, i) => {
    if (line.startsWith('#') || line === '') return;
    if (line.startsWith('ENV ')) {
      env.push(line.slice(3).replace(/^ +/, ''));
      return;
    }
    const parts = line.split('|');
    cases.push({
      n: i + 1,
      input: parts[0]!.trim(),
      expected: parts[1]!.replace(/^ +/, '').split(','),
      env: [...env],
    });
  });
  it.each(cases)('line $n: $input', ({ input, expected, env }) => {
    const r = expandWords(input, envFromList(env));
    expect(r.ok ? r.words : ['error']).toEqual(expected);
  });
});

describe('substitution modifiers (BuildKit TestProcessWithMatches)', () => {
  const table: [string, Record<string, string>, string | null, string[]?, string[]?][] = [
    ['x', { DUMMY: 'dummy' }, 'x', [], []],
    ['x ${UNUSED}', { DUMMY: 'dummy' }, 'x ', [], ['UNUSED']],
    ['x ${FOO}', { FOO: 'y' }, 'x y', ['FOO'], []],
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO'], []],
    ['${FOO:-}', {}, '', [], ['FOO']],
    ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO?aaa}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO'], []],
    ['${BAR?bbb}', { FOO: 'xxx', BAR: '' }, '', ['BAR'], []],
    ['${BAZ?ccc}', { FOO: 'xxx', BAR: '' }, null],
    ['${FOO:?aaa}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO'], []],
    ['${BAR:?bbb}', { FOO: 'xxx', BAR: '' }, null],
    ['${BAZ:?ccc}', { FOO: 'xxx', BAR: '' }, null],
    ['${BAZ:?}', { FOO: 'xxx', BAR: '' }, null],
    ['${FOO=aaa}', { FOO: 'xxx', BAR: '' }, null],
    ['${FOO=:aaa}', { FOO: 'xxx', BAR: '' }, null],
    ['${FOO=}', {}, null],
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x', ['FOO'], []],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx', ['FOO'], []],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y', ['FOO'], []],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy', ['FOO', 'BAR'], []],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy', ['FOO', 'BAR'], []],
    ['${FOO#}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy', ['FOO'], []],
    ['${FOO##}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y', ['FOO'], []],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.', ['FOO'], ['ABC']],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a', ['FOO'], []],
    ['${FOO%}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy', ['FOO', 'BAR'], []],
    [
      '${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}',
      { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' },
      '/foo.*/*.txt - /foo..*.txt',
      ['FOO', 'NEEDLE'],
      [],
    ],
    [
      '${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}',
      { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' },
      '/tmp/bar.txt - /bar.txt',
      ['FOO', 'NEEDLE'],
      [],
    ],
    [
      '${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}',
      { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' },
      '/foo/b/c.txt - /foo/c.txt',
      ['FOO', 'NEEDLE', 'REPLACEMENT'],
      [],
    ],
    [
      '${FOO/$NEEDLE/$REPLACEMENT}',
      { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' },
      'https://google.de',
      ['FOO', 'NEEDLE', 'REPLACEMENT'],
      [],
    ],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt', ['FOO'], []],
    ['${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' }, 'wwxxyy', ['FOO', 'BAR'], []],
    ['${FOO//ww}', { FOO: 'xxyy' }, null],
    ['${FOO//}', { FOO: 'xxyy' }, null],
    ['${FOO///}', { FOO: 'xxyy' }, 'xxyy', ['FOO'], []],
    ['${FOO///}', {}, '', [], ['FOO']],
    [
      'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz',
      { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' },
      'something-v1.2.3.linux-arm-v7.tar.gz',
      ['VERSION', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT'],
      [],
    ],
  ];
  it.each(table)('%s', (input, env, expected, matched, unmatched) => {
    const r = expandWord(input, new Map(Object.entries(env)));
    if (expected === null) {
      expect(r.ok).toBe(false);
      return;
    }
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (!r.ok) return;
    expect(r.value).toBe(expected);
    expect([...r.matched].sort()).toEqual([...(matched ?? [])].sort());
    expect([...r.unmatched].sort()).toEqual([...(unmatched ?? [])].sort());
  });

  it('required variables (TestShellParserMandatoryEnvVars)', () => {
    const set = new Map([
      ['VAR', 'plain'],
      ['ARG', 'x'],
    ]);
    const empty = new Map([
      ['VAR', ''],
      ['ARG', 'x'],
    ]);
    const unset = new Map([['ARG', 'x']]);
    const noEmpty = '${VAR:?message here$ARG}';
    const noUnset = '${VAR?message here$ARG}';
    expect(expandWord(noEmpty, set)).toMatchObject({ ok: true, value: 'plain' });
    expect(expandWord(noEmpty, empty)).toMatchObject({
      ok: false,
      required: true,
      message: 'VAR: message herex',
    });
    expect(expandWord(noEmpty, unset)).toMatchObject({ ok: false, message: 'VAR: message herex' });
    expect(expandWord(noUnset, set)).toMatchObject({ ok: true, value: 'plain' });
    expect(expandWord(noUnset, empty)).toMatchObject({ ok: true, value: '' });
    expect(expandWord(noUnset, unset)).toMatchObject({ ok: false, message: 'VAR: message herex' });
  });

  it('reverses patterns keeping escapes', () => {
    expect(reversePattern('a\\*c')).toBe('c\\*a');
    expect(reversePattern('\\\\\\ab')).toBe('b\\a\\\\');
    expect(reversePattern('ab\\')).toBe('\\ba');
    expect(reversePattern('\\\\b')).toBe('b\\\\');
  });

  it('uses the escape character from the directive', () => {
    const env = new Map([['A', 'x']]);
    expect(expandWord('`$A', env, { escapeToken: '`' })).toMatchObject({ ok: true, value: '$A' });
    expect(expandWord('\\$A', env, { escapeToken: '`' })).toMatchObject({ ok: true, value: '\\x' });
  });

  it('leaves quotes alone with skipProcessQuotes (COPY heredoc bodies)', () => {
    const env = new Map([['A', 'x']]);
    expect(expandWord(`echo "$A" '$A'`, env, { skipProcessQuotes: true })).toMatchObject({
      ok: true,
      value: `echo "x" 'x'`,
    });
  });
});
