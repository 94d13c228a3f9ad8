/** Input → diagnostics (esbuild style): errors, warnings, did-you-mean, all errors in one pass. */
import { describe, expect, test } from 'vitest';
import { parseRootfile } from '../../src/syntax/index.js';
import { validateGrammar } from '../../src/syntax/parser.js';
import { messages } from './helpers.js';

const rows: [string, string, string[]][] = [
  ['ok', 'FROM a\nRUN b', []],
  [
    'unknown instruction with a suggestion',
    'FROM a\nCOPPY a b',
    ['2:1: error: unknown instruction "COPPY" (did you mean COPY?)'],
  ],
  [
    'unknown instruction, lower case',
    'FROM a\n  enb a=b',
    ['2:3: error: unknown instruction "enb" (did you mean ENV?)'],
  ],
  [
    'unknown instruction without a close match',
    'FROM a\nFROBNICATE x',
    ['2:1: error: unknown instruction "FROBNICATE"'],
  ],
  ['no instructions', '# just a comment\n\n', ['3:1: error: file with no instructions']],
  ['empty file', '', ['1:1: error: file with no instructions']],
  ['ENV without value (legacy form)', 'FROM a\nENV PATH', ['2:5: error: ENV must have two arguments']],
  [
    'ENV mixing forms',
    'FROM a\nENV a=b c',
    ['2:9: error: Syntax error - can\'t find = in "c". Must be of the form: name=value'],
  ],
  [
    'nested JSON',
    'CMD [ "echo", [ "x" ] ]',
    ['1:5: error: when using JSON array syntax, arrays must be comprised of strings only'],
  ],
  [
    'numbers in JSON',
    'RUN [1]',
    ['1:5: error: when using JSON array syntax, arrays must be comprised of strings only'],
  ],
  [
    'unterminated heredoc',
    'FROM a\nRUN <<EOF\nx\n',
    ['2:5: error: unterminated heredoc: no line "EOF" ends it'],
  ],
  [
    'ONBUILD ONBUILD',
    'ONBUILD ONBUILD RUN x',
    ["1:9: error: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
  ],
  ['ONBUILD FROM', 'FROM a\nONBUILD FROM b', ["2:9: error: FROM isn't allowed as an ONBUILD trigger"]],
  [
    'ONBUILD MAINTAINER',
    'FROM a\nONBUILD MAINTAINER b',
    [
      "2:9: error: MAINTAINER isn't allowed as an ONBUILD trigger",
      '2:9: warning: MAINTAINER is deprecated: use LABEL maintainer="…"',
    ],
  ],
  ['ONBUILD alone', 'FROM a\nONBUILD', ['2:1: error: ONBUILD requires an instruction']],
  [
    'FROM alone',
    'FROM',
    ['1:1: error: FROM requires an image, `scratch` or a source kind (tarball, stage3, …)'],
  ],
  [
    'FROM extra words',
    'FROM a b',
    ['1:8: error: unexpected "b" in FROM: expected `AS name` or the end of the line'],
  ],
  [
    'FROM AS without name',
    'FROM a AS',
    ['1:8: error: unexpected "AS" in FROM: expected `AS name` or the end of the line'],
  ],
  [
    'FROM kind with extra word',
    'FROM tarball x y',
    ['1:16: error: unexpected "y" in FROM: expected only --flags or `AS name` after the source'],
  ],
  ['INCLUDE without name', 'FROM a\nINCLUDE', ['2:1: error: INCLUDE requires a stdlib name or a path']],
  [
    'INCLUDE bad argument',
    'FROM a\nINCLUDE x y',
    ['2:11: error: INCLUDE arguments must be KEY=VALUE, not "y"'],
  ],
  [
    'ANNOTATION without =',
    'FROM a\nANNOTATION x',
    ['2:12: error: Syntax error - can\'t find = in "x". Must be of the form: name=value'],
  ],
  [
    'MAINTAINER is deprecated',
    'FROM a\nMAINTAINER me',
    ['2:1: warning: MAINTAINER is deprecated: use LABEL maintainer="…"'],
  ],
  [
    'empty continuation line',
    'RUN a \\\n\n b',
    [
      '2:1: warning: empty continuation line (empty continuation lines will become errors in a future release)',
    ],
  ],
  // directives
  ['invalid escape', '# escape=x\nFROM a', ["1:1: error: invalid escape token 'x' does not match ` or \\"]],
  [
    'duplicate directive',
    '# escape=\\\n# ESCAPE=`\nFROM a',
    ['2:1: error: only one escape parser directive can be used'],
  ],
  ['directive after a comment is a comment', '# hi\n# escape=x\nFROM a', []],
  ['directive after a blank line is a comment', '\n# escape=x\nFROM a', []],
  ['directive after an instruction is a comment', 'FROM a\n# escape=x', []],
  // several errors in one pass
  [
    'all errors in one pass',
    'FROM a b\nCOPPY x\nENV k\nRUN [1]\nRUNN',
    [
      '1:8: error: unexpected "b" in FROM: expected `AS name` or the end of the line',
      '2:1: error: unknown instruction "COPPY" (did you mean COPY?)',
      '3:5: error: ENV must have two arguments',
      '4:5: error: when using JSON array syntax, arrays must be comprised of strings only',
      '5:1: error: unknown instruction "RUNN" (did you mean RUN?)',
    ],
  ],
];

describe('diagnostics', () => {
  test.each(rows)('%s', (_name, input, expected) => {
    expect(messages(input)).toEqual(expected);
  });

  test('did-you-mean carries the suggestion for quick fixes', () => {
    const d = parseRootfile('FROM a\nWORKDR /x', 'R').diagnostics[0]!;
    expect(d.code).toBe('syntax/unknown-instruction');
    expect(d.suggestion).toBe('WORKDIR');
    expect(d.location?.range.start).toMatchObject({ line: 2, column: 1 });
    expect(d.location?.range.end).toMatchObject({ line: 2, column: 7 });
  });

  test('warnings are separate from errors', () => {
    const { diagnostics } = parseRootfile('FROM a\nMAINTAINER x\nRUN a \\\n\n b', 'R');
    expect(diagnostics.map((d) => d.severity)).toEqual(['warning', 'warning']);
  });

  test('directives are recognised in any case and recorded', () => {
    const { ast } = parseRootfile('# Syntax = docker/dockerfile:1\n#ESCAPE=`\n# check=skip=all\nFROM a', 'R');
    expect(ast.directives.map((d) => [d.name, d.value, d.range.start.line])).toEqual([
      ['syntax', 'docker/dockerfile:1', 1],
      ['escape', '`', 2],
      ['check', 'skip=all', 3],
    ]);
    expect(ast.escape).toBe('`');
  });

  test('the grammar passes Chevrotain validations', () => {
    expect(() => validateGrammar()).not.toThrow();
  });
});
