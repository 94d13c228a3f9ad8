/** Go's unicode predicates, which BuildKit's parser uses, for JavaScript strings. */

/** Go's `unicode.IsSpace`. */
export function isSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Characters of BuildKit's `reWhitespace` / `tokenWhitespace`: `[\t\v\f\r ]`. */
export function isTokenSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

/** strings.TrimSpace */
export function trimSpace(s: string): string {
  return trimRightSpace(trimLeftSpace(s));
}

export function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i === 0 ? s : s.slice(i);
}

export function trimRightSpace(s: string): string {
  let j = s.length;
  while (j > 0 && isSpace(s.charCodeAt(j - 1))) j--;
  return j === s.length ? s : s.slice(0, j);
}

/** Count of leading characters that are Go spaces. */
export function leadingSpace(s: string, from = 0, to = s.length): number {
  let i = from;
  while (i < to && isSpace(s.charCodeAt(i))) i++;
  return i - from;
}

/** Count of trailing characters that are Go spaces. */
export function trailingSpace(s: string, from = 0, to = s.length): number {
  let j = to;
  while (j > from && isSpace(s.charCodeAt(j - 1))) j--;
  return to - j;
}
