/** Input → instructions as the builder receives them, one row per case (BuildKit's rules). */
import { describe, expect, test } from 'vitest';
import { shapes } from './helpers.js';

const rows: [string, string, unknown[]][] = [
  // shell form and exec form
  ['shell form', 'RUN echo hi', [{ k: 'RUN', args: ['echo hi'] }]],
  ['exec form', 'CMD ["a", "b c"]', [{ k: 'CMD', args: ['a', 'b c'], json: true }]],
  ['empty exec form', 'CMD []', [{ k: 'CMD', args: [], json: true }]],
  ['invalid JSON falls back to shell form', "CMD ['a']", [{ k: 'CMD', args: ["['a']"] }]],
  ['trailing text after JSON is shell form', 'RUN ["a"] b', [{ k: 'RUN', args: ['["a"] b'] }]],
  ['unterminated JSON', 'RUN ["a"', [{ k: 'RUN', args: ['["a"'] }]],
  [
    'keywords in any case',
    'run echo\nFrom x\ncOpY a b',
    [
      { k: 'RUN', args: ['echo'] },
      { k: 'FROM', args: ['x'] },
      { k: 'COPY', args: ['a', 'b'] },
    ],
  ],
  ['a keyword as an argument', 'RUN run from copy', [{ k: 'RUN', args: ['run from copy'] }]],
  ['no arguments', 'RUN', [{ k: 'RUN', args: [] }]],
  // continuations
  ['continuation joins lines, keeping indentation', 'RUN a \\\n  b', [{ k: 'RUN', args: ['a   b'] }]],
  ['comment lines inside a continuation are dropped', 'RUN a \\\n# c\n  b', [{ k: 'RUN', args: ['a   b'] }]],
  ['blank lines inside a continuation are dropped', 'RUN a \\\n\n  b', [{ k: 'RUN', args: ['a   b'] }]],
  ['continuation at EOF', 'RUN a \\', [{ k: 'RUN', args: ['a'] }]],
  [
    'escaped escape is not a continuation',
    'ENV A b\\\\\nENV B c',
    [
      { k: 'ENV', args: ['A', 'b\\'] },
      { k: 'ENV', args: ['B', 'c'] },
    ],
  ],
  ['spaces after the escape still continue', 'RUN a \\  \n b', [{ k: 'RUN', args: ['a  b'] }]],
  [
    'backtick escape',
    '# escape=`\nRUN a `\n b\nENV P C:\\x',
    [
      { k: 'RUN', args: ['a  b'] },
      { k: 'ENV', args: ['P', 'C:\\x'] },
    ],
  ],
  // flags
  [
    'flags',
    'COPY --from=build --chown=1:1 a b',
    [{ k: 'COPY', flags: ['--from=build', '--chown=1:1'], args: ['a', 'b'] }],
  ],
  ['-- ends flags', 'COPY --a -- --b c', [{ k: 'COPY', flags: ['--a'], args: ['--b', 'c'] }]],
  ['flags only before arguments', 'RUN echo --x', [{ k: 'RUN', args: ['echo --x'] }]],
  [
    'quoted flag value',
    'RUN --mount="type=bind,source=a b" x',
    [{ k: 'RUN', flags: ['--mount="type=bind,source=a b"'], args: ['x'] }],
  ],
  // words
  ['whitespace-separated words keep quotes', 'COPY "a b" c', [{ k: 'COPY', args: ['"a', 'b"', 'c'] }]],
  ['tabs separate words', 'EXPOSE\t80\t443', [{ k: 'EXPOSE', args: ['80', '443'] }]],
  ['VOLUME exec form', 'VOLUME ["/a", "/b"]', [{ k: 'VOLUME', args: ['/a', '/b'], json: true }]],
  ['the rest of the line is one string', 'WORKDIR /a b  c', [{ k: 'WORKDIR', args: ['/a b  c'] }]],
  // key/value
  [
    'ENV pairs, quotes processed',
    'ENV a=1 b="x y" c=\'$z\' d=e\\ f',
    [{ k: 'ENV', args: ['a', '1', 'b', 'x y', 'c', '$z', 'd', 'e f'] }],
  ],
  ['legacy ENV: the rest is the value', 'ENV a b  c', [{ k: 'ENV', args: ['a', 'b  c'] }]],
  ['legacy ENV value unquoted', 'ENV a "b c"', [{ k: 'ENV', args: ['a', 'b c'] }]],
  ['ENV empty value', 'ENV a= b=""', [{ k: 'ENV', args: ['a', '', 'b', ''] }]],
  ['LABEL quoted key', 'LABEL "a b"=c', [{ k: 'LABEL', args: ['a b', 'c'] }]],
  [
    'ARG with and without default',
    'ARG a b=2 c="3 4"',
    [{ k: 'ARG', args: ['a', '', 'b', '2', 'c', '3 4'] }],
  ],
  ['ANNOTATION', 'ANNOTATION a.b=c d=e', [{ k: 'ANNOTATION', args: ['a.b', 'c', 'd', 'e'] }]],
  [
    'INCLUDE',
    'INCLUDE users UID=1000 NAME="a b"',
    [{ k: 'INCLUDE', args: ['users', 'UID', '1000', 'NAME', 'a b'] }],
  ],
  // HEALTHCHECK
  [
    'HEALTHCHECK CMD shell',
    'HEALTHCHECK --interval=5s CMD curl -f x',
    [{ k: 'HEALTHCHECK', flags: ['--interval=5s'], args: ['CMD', 'curl -f x'] }],
  ],
  ['HEALTHCHECK CMD exec', 'HEALTHCHECK CMD ["a"]', [{ k: 'HEALTHCHECK', args: ['CMD', 'a'], json: true }]],
  ['HEALTHCHECK NONE', 'HEALTHCHECK NONE', [{ k: 'HEALTHCHECK', args: ['NONE'] }]],
  // ONBUILD
  ['ONBUILD', 'ONBUILD RUN make', [{ k: 'ONBUILD', args: [], inner: { k: 'RUN', args: ['make'] } }]],
  [
    'ONBUILD with flags inside',
    'ONBUILD COPY --from=a b c',
    [{ k: 'ONBUILD', args: [], inner: { k: 'COPY', flags: ['--from=a'], args: ['b', 'c'] } }],
  ],
  // FROM
  ['FROM image AS name', 'FROM a:1 AS b', [{ k: 'FROM', args: ['a:1', 'AS', 'b'] }]],
  [
    'FROM --platform',
    'FROM --platform=linux/arm64 a',
    [{ k: 'FROM', flags: ['--platform=linux/arm64'], args: ['a'] }],
  ],
  [
    'FROM tarball with a trailing flag',
    'FROM tarball x.tgz --sha256=ab AS r',
    [{ k: 'FROM', flags: ['--sha256=ab'], args: ['tarball', 'x.tgz', 'AS', 'r'] }],
  ],
  [
    'FROM tarball AS x is an image called tarball',
    'FROM tarball AS x',
    [{ k: 'FROM', args: ['tarball', 'AS', 'x'] }],
  ],
  // heredocs
  [
    'heredoc',
    'RUN <<EOF\na\nb\nEOF\nRUN x',
    [
      { k: 'RUN', args: ['<<EOF'], heredocs: [{ name: 'EOF', content: 'a\nb\n', expand: true }] },
      { k: 'RUN', args: ['x'] },
    ],
  ],
  [
    'quoted heredoc delimiter: no expansion',
    "COPY <<'EOF' /f\n$x\nEOF",
    [{ k: 'COPY', args: ["<<'EOF'", '/f'], heredocs: [{ name: 'EOF', content: '$x\n', expand: false }] }],
  ],
  [
    '<<- strips leading tabs',
    'RUN <<-EOF\n\ta\n\t\tb\n\tEOF',
    [{ k: 'RUN', args: ['<<-EOF'], heredocs: [{ name: 'EOF', content: 'a\nb\n', expand: true }] }],
  ],
  [
    'two heredocs on one line',
    'RUN a <<A && b <<B\n1\nA\n2\nB',
    [
      {
        k: 'RUN',
        args: ['a <<A && b <<B'],
        heredocs: [
          { name: 'A', content: '1\n', expand: true },
          { name: 'B', content: '2\n', expand: true },
        ],
      },
    ],
  ],
  [
    'no heredoc in exec form (EOF is then an instruction)',
    'RUN ["<<EOF"]\nEOF',
    [
      { k: 'RUN', args: ['<<EOF'], json: true },
      { k: 'EOF', args: [] },
    ],
  ],
  ['no heredoc in ENV', 'ENV a=<<EOF', [{ k: 'ENV', args: ['a', '<<EOF'] }]],
  [
    'ONBUILD RUN heredoc',
    'ONBUILD RUN <<EOF\nx\nEOF',
    [
      {
        k: 'ONBUILD',
        args: [],
        inner: { k: 'RUN', args: ['<<EOF'], heredocs: [{ name: 'EOF', content: 'x\n', expand: true }] },
      },
    ],
  ],
  // line endings, BOM
  [
    'CRLF',
    'FROM a\r\nRUN b \\\r\n  c\r\n',
    [
      { k: 'FROM', args: ['a'] },
      { k: 'RUN', args: ['b   c'] },
    ],
  ],
  ['BOM', '\ufeffFROM a', [{ k: 'FROM', args: ['a'] }]],
  [
    'leading whitespace',
    '   FROM a\n\t RUN b',
    [
      { k: 'FROM', args: ['a'] },
      { k: 'RUN', args: ['b'] },
    ],
  ],
];

describe('arguments as the builder receives them', () => {
  test.each(rows)('%s', (_name, input, expected) => {
    expect(shapes(input)).toEqual(expected);
  });
});
