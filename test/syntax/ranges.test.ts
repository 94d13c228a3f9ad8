/** Source ranges: true positions even across continuations, CRLF and heredocs. */
import { describe, expect, test } from 'vitest';
import { parseRootfile } from '../../src/syntax/index.js';
import { covered } from './helpers.js';

describe('ranges', () => {
  test('shell-form argument across continuation lines', () => {
    const text = 'FROM a\nRUN echo a \\\n  # c\n  b && \\\n  c\n';
    const run = parseRootfile(text, 'R').ast.instructions[1]!;
    expect(run.args[0]!.value).toBe('echo a   b &&   c');
    expect(run.args[0]!.range.start).toMatchObject({ line: 2, column: 5 });
    expect(run.args[0]!.range.end).toMatchObject({ line: 5, column: 4 });
    expect(run.range.start).toMatchObject({ line: 2, column: 1 });
    expect(run.range.end).toMatchObject({ line: 5, column: 4 });
    expect(run.keywordRange.end).toMatchObject({ line: 2, column: 4 });
  });

  test('ENV pairs on continuation lines', () => {
    const text = 'ENV a=1 \\\n    bb="x y" \\\n    c=3';
    const env = parseRootfile(text, 'R').ast.instructions[0]!;
    const [, , bb, xy, c] = env.args;
    expect(covered(text, bb!.range)).toBe('bb');
    expect(bb!.range.start).toMatchObject({ line: 2, column: 5 });
    expect(covered(text, xy!.range)).toBe('"x y"');
    expect(c!.range.start).toMatchObject({ line: 3, column: 5 });
  });

  test('a word split by a continuation covers both lines', () => {
    const text = 'COPY ab\\\ncd /x';
    const copy = parseRootfile(text, 'R').ast.instructions[0]!;
    expect(copy.args[0]!.value).toBe('abcd');
    expect(copy.args[0]!.range.start).toMatchObject({ line: 1, column: 6 });
    expect(copy.args[0]!.range.end).toMatchObject({ line: 2, column: 3 });
  });

  test('exec form items', () => {
    const text = 'CMD [ "a",\\\n "b" ]';
    const cmd = parseRootfile(text, 'R').ast.instructions[0]!;
    expect(cmd.args.map((a) => covered(text, a.range))).toEqual(['"a"', '"b"']);
    expect(cmd.args[1]!.range.start.line).toBe(2);
  });

  test('flags', () => {
    const text = 'RUN --mount=type=cache,target=/x \\\n  --network=none make';
    const run = parseRootfile(text, 'R').ast.instructions[0]!;
    expect(run.flags.map((f) => [f.name, f.value, covered(text, f.range)])).toEqual([
      ['mount', 'type=cache,target=/x', '--mount=type=cache,target=/x'],
      ['network', 'none', '--network=none'],
    ]);
    expect(run.flags[1]!.range.start.line).toBe(2);
  });

  test('CRLF: columns do not count the carriage return', () => {
    const text = 'FROM a\r\nRUN b \\\r\n  c\r\nCOPPY x\r\n';
    const { ast, diagnostics } = parseRootfile(text, 'R');
    expect(ast.instructions[1]!.args[0]!.range.end).toMatchObject({ line: 3, column: 4 });
    expect(diagnostics[0]!.location!.range.start).toMatchObject({ line: 4, column: 1 });
    expect(diagnostics[0]!.location!.range.end).toMatchObject({ line: 4, column: 6 });
  });

  test('heredoc word and body', () => {
    const text = 'FROM a\nRUN cat <<EOF\nhello\nEOF\nRUN x';
    const run = parseRootfile(text, 'R').ast.instructions[1]!;
    const h = run.heredocs[0]!;
    expect(covered(text, h.range)).toBe('<<EOF');
    expect(covered(text, h.bodyRange)).toBe('hello\nEOF');
    expect(run.range.end).toMatchObject({ line: 4, column: 4 });
  });

  test('the instruction after a BOM starts at column 2 of the text', () => {
    const { ast } = parseRootfile('\ufeffFROM a', 'R');
    expect(ast.instructions[0]!.keywordRange.start.offset).toBe(1);
  });

  test('comments above an instruction', () => {
    const { ast } = parseRootfile('# one\n#two\nFROM a\n# three\nRUN b', 'R');
    expect(ast.instructions.map((i) => i.comments)).toEqual([['one', 'two'], ['three']]);
    expect(ast.comments?.map((c) => c.text)).toEqual(['one', 'two', 'three']);
  });
});
