/**
 * Reads BuildKit's parser test `result` files: one `Node.Dump()` per line,
 * `(keyword ["flag" …] "arg" … (child …))`, strings quoted with Go's strconv.Quote.
 */

export interface DumpNode {
  keyword: string;
  flags: string[];
  /** Strings, or a nested node (ONBUILD's child). */
  args: (string | DumpNode)[];
}

/** Go's strconv.Unquote for a double-quoted literal starting at `s[i]`; returns value and end. */
export function goUnquote(s: string, i: number): { value: string; end: number } {
  if (s[i] !== '"') throw new Error(`expected a Go string at ${i}: ${s}`);
  const bytes: number[] = [];
  const pushString = (str: string) => {
    for (const b of Buffer.from(str, 'utf8')) bytes.push(b);
  };
  let j = i + 1;
  while (j < s.length && s[j] !== '"') {
    const c = s[j]!;
    if (c !== '\\') {
      const cp = s.codePointAt(j)!;
      const ch = String.fromCodePoint(cp);
      pushString(ch);
      j += ch.length;
      continue;
    }
    const e = s[j + 1]!;
    j += 2;
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      '"': '"',
      "'": "'",
    };
    if (e in simple) pushString(simple[e]!);
    else if (e === 'x') {
      bytes.push(Number.parseInt(s.slice(j, j + 2), 16));
      j += 2;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      pushString(String.fromCodePoint(Number.parseInt(s.slice(j, j + n), 16)));
      j += n;
    } else if (/[0-7]/.test(e)) {
      bytes.push(Number.parseInt(s.slice(j - 1, j + 2), 8));
      j += 2;
    } else throw new Error(`bad escape \\${e} in ${s}`);
  }
  return { value: Buffer.from(bytes).toString('utf8'), end: j + 1 };
}

/** Parses one result line. */
export function parseDumpLine(line: string): DumpNode {
  let i = 0;
  const ws = () => {
    while (i < line.length && /\s/.test(line[i]!)) i++;
  };
  const node = (): DumpNode => {
    if (line[i] !== '(') throw new Error(`expected ( at ${i}: ${line}`);
    i++;
    const start = i;
    while (i < line.length && /[a-z]/i.test(line[i]!)) i++;
    const n: DumpNode = { keyword: line.slice(start, i), flags: [], args: [] };
    ws();
    if (line[i] === '[') {
      i++;
      ws();
      while (line[i] !== ']') {
        const q = goUnquote(line, i);
        n.flags.push(q.value);
        i = q.end;
        ws();
      }
      i++;
    }
    for (;;) {
      ws();
      if (line[i] === ')') {
        i++;
        return n;
      }
      if (line[i] === '(') n.args.push(node());
      else {
        const q = goUnquote(line, i);
        n.args.push(q.value);
        i = q.end;
      }
    }
  };
  return node();
}

export function parseResult(text: string): DumpNode[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(parseDumpLine);
}
