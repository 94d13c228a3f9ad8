/** The word helpers lowering uses: Docker's quote processing without expansion. */
import { describe, expect, test } from 'vitest';
import { unquote } from '../../src/syntax/index.js';

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
});
