const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Byte order of the UTF-8 encodings of two strings (how Go, BuildKit and tar order paths), without
 * encoding them: for strings without surrogate pairs UTF-16 code-unit order is code-point order, which is
 * UTF-8 byte order. Sorting a directory of 2,000 names made ~40,000 Buffers the old way.
 */
export function byteOrder(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}
