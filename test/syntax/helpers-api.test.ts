/** The word helpers lowering uses: Docker's quote processing without expansion. */
import { describe, expect, test } from 'vitest';
import { shlex, unquote } from '../../src/syntax/index.js';
import { prng } from '../fuzz/generate.js';

const rows: [string, string, string][] = [
  ['plain', 'abc', 'abc'],
  ['double quotes', '"a b"', 'a b'],
  ['single quotes keep everything', "'a\\ $b'", 'a\\ $b'],
  ['escaped space', 'a\\ b', 'a b'],
  ['escapes in double quotes: only " $ and the escape', '"a\\"b\\$c\\\\d\\e"', 'a"b$c\\d\\e'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Docker's ${X:-y}, not a template
  ['variables are kept', '"$HOME/${X:-y}"', '$HOME/${X:-y}'],
  ['mixed', 'a"b c"\'d\'', 'ab cd'],
];

describe('unquote', () => {
  test.each(rows)('%s', (_name, raw, value) => {
    expect(unquote(raw).value).toBe(value);
  });
  test('backtick escape', () => {
    expect(unquote('a`"b', '`').value).toBe('a"b');
    expect(unquote('C:\\x', '`').value).toBe('C:\\x');
  });
  test('an unterminated quote is reported, the word returned as is', () => {
    expect(unquote('"abc')).toEqual({ value: '"abc', error: expect.stringContaining('double-quote') });
  });
  test('the quotes-only shortcut agrees with the shell lexer on generated words', () => {
    const alphabet = ['a', 'b', ' ', '"', "'", '$', '{', '}', ':', '-', '\\', '`', 'é', '1'];
    const rand = prng(0x71c7);
    const pick = () => alphabet[Math.floor(rand() * alphabet.length)]!;
    for (let i = 0; i < 20_000; i++) {
      const raw = Array.from({ length: 1 + Math.floor(rand() * 10) }, pick).join('');
      for (const esc of ['\\', '`']) {
        // Words without quotes or escape characters were returned as written before the shortcut too.
        if (!raw.includes('"') && !raw.includes("'") && !raw.includes(esc)) continue;
        let expected: { value: string; error?: string };
        try {
          expected = { value: shlex(raw, { escape: esc }).result };
        } catch (e) {
          expected = { value: raw, error: (e as Error).message };
        }
        expect(unquote(raw, esc), JSON.stringify([raw, esc])).toEqual(expected);
      }
    }
  });
});
