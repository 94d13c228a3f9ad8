import { describe, expect, it } from 'vitest';
import { byteOrder } from '../../src/fsutil/order.js';

describe('byteOrder', () => {
  it('orders like the UTF-8 bytes, surrogate pairs and characters above them included', () => {
    const alphabet = [
      'a',
      'B',
      '-',
      '.',
      '/',
      '\u00e9',
      '\u4e2d',
      '\uff21',
      '\u{1f600}',
      '\u{10000}',
      '\ue000',
      '',
    ];
    let seed = 7;
    const pick = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return alphabet[seed % alphabet.length]!;
    };
    const words = Array.from({ length: 400 }, () => Array.from({ length: 1 + (seed % 4) }, pick).join(''));
    const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    for (let i = 0; i + 1 < words.length; i++) {
      expect(Math.sign(byteOrder(words[i]!, words[i + 1]!)), `${words[i]} ? ${words[i + 1]}`).toBe(
        bytes(words[i]!, words[i + 1]!),
      );
    }
    // The case code-unit order gets wrong: U+FF21 (one unit, 0xFF21) sorts before U+1F600 in UTF-8.
    expect(Math.sign(byteOrder('\uff21', '\u{1f600}'))).toBe(-1);
    expect([...words].sort(byteOrder)).toEqual([...words].sort(bytes));
  });
});
