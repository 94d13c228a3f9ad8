#!/usr/bin/env node
/**
 * Source of the Rootfile TextMate grammar: `node grammar/build.mjs` writes rootfile.tmLanguage.json
 * (committed; test/grammar checks that it is up to date). Written as code so the regular
 * expressions are built from named pieces instead of repeated by hand.
 *
 * Shape: one begin/end rule per instruction family, from the keyword to the end of the logical line
 * (a line not ending in `\`); heredocs are begin/while rules that stop at the line holding only the
 * delimiter (captured by the begin, referred to by the while), so an unbalanced quote in the body
 * cannot swallow the rest of the file. RUN/CMD/ENTRYPOINT/SHELL bodies and RUN heredocs embed
 * `source.shell`; exec form is a JSON array.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const S = 'rootfile';
/** The end of a logical line: a line end not preceded by the continuation `\` (one trailing blank allowed). */
const EOL = '(?<!\\\\)(?<![\\\\][ \\t])(?=\\n)';
/** `ONBUILD ` before any instruction (captured as group 1 of every instruction's begin). */
const ONBUILD = '(?:(ONBUILD)\\s+)?';
const kw = (names) => `(?i)^\\s*${ONBUILD}(${names.join('|')})(?=\\s|$)`;
const keywordCaptures = (scope = `keyword.other.instruction.${S}`) => ({
  1: { name: `keyword.other.onbuild.${S}` },
  2: { name: scope },
});
/** `<<EOF`, `<<-EOF`, `<<"EOF"`: groups 4 (operator), 5 (quote), 6 (word) of a heredoc begin. */
const HEREDOC_WORD = '(<<-?)(["\']?)([A-Za-z_][A-Za-z0-9_]*)(\\5)';
const KINDS = ['tarball', 'stage3', 'debootstrap', 'docker-archive', 'oci', 'aci'];

/** A begin/end rule for one instruction family: keyword to end of logical line. */
function instruction(names, patterns, extra = {}) {
  return {
    begin: kw(names),
    beginCaptures: keywordCaptures(extra.keywordScope),
    end: EOL,
    name: `meta.instruction.${extra.meta ?? names[0].toLowerCase()}.${S}`,
    patterns: [{ include: '#continuation' }, { include: '#comment-in-continuation' }, ...patterns],
  };
}

/** A heredoc opened on an instruction line: the line, then the body until the delimiter line. */
function heredoc(names, body, meta) {
  return {
    begin: `${kw(names)}(.*?)${HEREDOC_WORD}(.*)$`,
    beginCaptures: {
      ...keywordCaptures(),
      3: { patterns: [{ include: '#flag' }, { include: '#word' }] },
      4: { name: `keyword.operator.heredoc.${S}` },
      5: { name: `punctuation.definition.string.${S}` },
      6: { name: `keyword.control.heredoc-token.${S}` },
      7: { name: `punctuation.definition.string.${S}` },
      8: { patterns: body === 'shell' ? [{ include: 'source.shell' }] : [{ include: '#word' }] },
    },
    // Every line after the begin line while it is not the delimiter alone (tabs allowed for `<<-`).
    while: '^(?!\\t*\\6\\s*$)',
    name: `meta.heredoc.${meta}.${S}`,
    contentName: body === 'shell' ? `meta.embedded.block.shell.${S}` : `string.unquoted.heredoc.${S}`,
    patterns: body === 'shell' ? [{ include: 'source.shell' }] : [],
  };
}

const grammar = {
  $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
  name: 'Rootfile',
  scopeName: `source.${S}`,
  fileTypes: ['rootfile', 'Rootfile'],
  patterns: [
    { include: '#directive' },
    { include: '#comment' },
    { include: '#heredoc-shell' },
    { include: '#heredoc-file' },
    { include: '#from' },
    { include: '#shell-form' },
    { include: '#healthcheck' },
    { include: '#key-value' },
    { include: '#include' },
    { include: '#expose' },
    { include: '#words' },
    { include: '#heredoc-end' },
  ],
  repository: {
    directive: {
      match: '(?i)^(#)\\s*(syntax|escape|check)\\s*(=)\\s*(.*?)\\s*$',
      name: `meta.directive.${S}`,
      captures: {
        1: { name: `punctuation.definition.directive.${S}` },
        2: { name: `keyword.other.directive.${S}` },
        3: { name: `keyword.operator.assignment.${S}` },
        4: { name: `string.unquoted.directive-value.${S}` },
      },
    },
    comment: {
      match: '^\\s*((#).*$)',
      captures: {
        1: { name: `comment.line.number-sign.${S}` },
        2: { name: `punctuation.definition.comment.${S}` },
      },
    },
    // Docker drops comment lines inside a continuation; the instruction goes on after them.
    'comment-in-continuation': {
      match: '^\\s*((#).*\\n)',
      captures: {
        1: { name: `comment.line.number-sign.${S}` },
        2: { name: `punctuation.definition.comment.${S}` },
      },
    },
    continuation: {
      match: '(\\\\)[ \\t]*$',
      captures: { 1: { name: `punctuation.separator.continuation.line.${S}` } },
    },
    'heredoc-shell': heredoc(['RUN'], 'shell', 'run'),
    'heredoc-file': heredoc(['COPY', 'ADD'], 'file', 'copy'),
    // The delimiter line of a heredoc ends the while rule and is read here: a lone word outside
    // any instruction (not an instruction keyword: those matched above).
    'heredoc-end': {
      match: '^\\t*([A-Za-z_][A-Za-z0-9_]*)\\s*$',
      captures: { 1: { name: `keyword.control.heredoc-token.${S}` } },
    },
    from: instruction(
      ['FROM'],
      [
        { include: '#flag' },
        {
          match: `(?i)(?<=\\s)(${KINDS.join('|')})(?=\\s+(?!AS\\s)[^\\s-])`,
          name: `support.type.source-kind.${S}`,
        },
        { match: '(?<=\\s)(scratch)(?=\\s|$)', name: `constant.language.scratch.${S}` },
        {
          match: '(?i)(?<=\\s)(AS)\\s+([^\\s\\\\]+)',
          captures: {
            1: { name: `keyword.other.as.${S}` },
            2: { name: `entity.name.type.stage.${S}` },
          },
        },
        { include: '#word' },
      ],
    ),
    'shell-form': instruction(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL'], [{ include: '#flag' }, { include: '#exec-or-shell' }], {
      meta: 'shell-form',
    }),
    'exec-or-shell': {
      patterns: [
        { include: '#json-array' },
        {
          // The shell-form command: from its first character to the end of the logical line.
          begin: '(?=[^\\s\\\\])',
          end: EOL,
          contentName: `meta.embedded.line.shell.${S}`,
          patterns: [{ include: '#comment-in-continuation' }, { include: 'source.shell' }],
        },
      ],
    },
    healthcheck: instruction(
      ['HEALTHCHECK'],
      [
        { include: '#flag' },
        { match: '(?i)(?<=\\s)(NONE)(?=\\s*$)', name: `constant.language.none.${S}` },
        {
          begin: '(?i)(?<=\\s)(CMD)(?=\\s)',
          beginCaptures: { 1: { name: `keyword.other.instruction.${S}` } },
          end: `(?=${EOL})`,
          patterns: [{ include: '#continuation' }, { include: '#exec-or-shell' }],
        },
      ],
    ),
    'key-value': instruction(
      ['ENV', 'ARG', 'LABEL', 'ANNOTATION'],
      [
        {
          match: '([^\\s="\'\\\\]+|"(?:[^"\\\\]|\\\\.)*")(=)',
          captures: {
            1: { name: `variable.other.key.${S}` },
            2: { name: `keyword.operator.assignment.${S}` },
          },
        },
        { include: '#word' },
      ],
      { meta: 'key-value' },
    ),
    include: instruction(
      ['INCLUDE'],
      [
        {
          match: '\\G\\s+([^\\s\\\\]+)',
          captures: { 1: { name: `entity.name.module.include.${S}` } },
        },
        {
          match: '([A-Za-z_][A-Za-z0-9_]*)(=)',
          captures: {
            1: { name: `variable.other.key.${S}` },
            2: { name: `keyword.operator.assignment.${S}` },
          },
        },
        { include: '#word' },
      ],
      { keywordScope: `keyword.other.instruction.extension.${S}` },
    ),
    expose: instruction(
      ['EXPOSE'],
      [
        {
          match: '(?<=\\s)(\\d+(?:-\\d+)?)(?:(/)(tcp|udp|sctp))?(?=\\s|$)',
          captures: {
            1: { name: `constant.numeric.port.${S}` },
            2: { name: `punctuation.separator.protocol.${S}` },
            3: { name: `keyword.other.protocol.${S}` },
          },
        },
        { include: '#word' },
      ],
    ),
    words: {
      patterns: [
        instruction(
          ['COPY', 'ADD', 'VOLUME', 'WORKDIR', 'USER', 'STOPSIGNAL', 'MAINTAINER'],
          [{ include: '#flag' }, { include: '#json-array' }, { include: '#word' }],
          { meta: 'words' },
        ),
        instruction(['REMOVE'], [{ include: '#json-array' }, { include: '#word' }], {
          keywordScope: `keyword.other.instruction.extension.${S}`,
        }),
        // An instruction keyword alone on a line or ONBUILD with nothing known after it.
        {
          match: `(?i)^\\s*(ONBUILD)(?=\\s|$)`,
          captures: { 1: { name: `keyword.other.onbuild.${S}` } },
        },
      ],
    },
    flag: {
      patterns: [
        {
          match: '(?<=^|\\s)(--)(from)(=)([^\\s\\\\]+)',
          captures: {
            1: { name: `punctuation.definition.flag.${S}` },
            2: { name: `variable.parameter.flag.${S}` },
            3: { name: `keyword.operator.assignment.${S}` },
            4: { name: `entity.name.type.stage.reference.${S}`, patterns: [{ include: '#variable' }] },
          },
        },
        {
          match: '(?<=^|\\s)(--)(deps)(?==|\\s|$)',
          captures: {
            1: { name: `punctuation.definition.flag.${S}` },
            2: { name: `variable.parameter.flag.extension.${S}` },
          },
        },
        {
          match: '(?<=^|\\s)(--)([A-Za-z][A-Za-z0-9-]*)(?:(=)((?:[^\\s"\'\\\\]|\\\\.|"(?:[^"\\\\]|\\\\.)*"|\'[^\']*\')*))?',
          captures: {
            1: { name: `punctuation.definition.flag.${S}` },
            2: { name: `variable.parameter.flag.${S}` },
            3: { name: `keyword.operator.assignment.${S}` },
            4: { name: `string.unquoted.flag-value.${S}`, patterns: [{ include: '#variable' }, { include: '#string' }] },
          },
        },
      ],
    },
    'json-array': {
      begin: '(\\[)(?=\\s*(?:"|\\]))',
      beginCaptures: { 1: { name: `punctuation.definition.array.begin.${S}` } },
      end: `(\\])|(?=${EOL})`,
      endCaptures: { 1: { name: `punctuation.definition.array.end.${S}` } },
      name: `meta.structure.array.json.${S}`,
      patterns: [
        { include: '#continuation' },
        {
          begin: '"',
          beginCaptures: { 0: { name: `punctuation.definition.string.begin.${S}` } },
          end: '"',
          endCaptures: { 0: { name: `punctuation.definition.string.end.${S}` } },
          name: `string.quoted.double.json.${S}`,
          patterns: [{ match: '\\\\(?:["\\\\/bfnrt]|u[0-9A-Fa-f]{4})', name: `constant.character.escape.json.${S}` }],
        },
        { match: ',', name: `punctuation.separator.array.${S}` },
      ],
    },
    word: { patterns: [{ include: '#string' }, { include: '#variable' }, { include: '#escape' }] },
    string: {
      patterns: [
        {
          begin: '"',
          beginCaptures: { 0: { name: `punctuation.definition.string.begin.${S}` } },
          end: '"',
          endCaptures: { 0: { name: `punctuation.definition.string.end.${S}` } },
          name: `string.quoted.double.${S}`,
          patterns: [
            { include: '#continuation' },
            { match: '\\\\.', name: `constant.character.escape.${S}` },
            { include: '#variable' },
          ],
        },
        {
          begin: "'",
          beginCaptures: { 0: { name: `punctuation.definition.string.begin.${S}` } },
          end: "'",
          endCaptures: { 0: { name: `punctuation.definition.string.end.${S}` } },
          name: `string.quoted.single.${S}`,
        },
      ],
    },
    escape: { match: '\\\\.', name: `constant.character.escape.${S}` },
    variable: {
      patterns: [
        {
          begin: '(\\$\\{)([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])|(##?|%%?|//?))?',
          beginCaptures: {
            1: { name: `punctuation.definition.variable.begin.${S}` },
            2: { name: `variable.other.readwrite.${S}` },
            3: { name: `keyword.operator.expansion.${S}` },
            4: { name: `keyword.operator.expansion.${S}` },
          },
          end: '\\}',
          endCaptures: { 0: { name: `punctuation.definition.variable.end.${S}` } },
          name: `meta.variable.expansion.${S}`,
          contentName: `string.unquoted.expansion-word.${S}`,
          patterns: [{ include: '#variable' }, { include: '#string' }],
        },
        {
          match: '(\\$)([A-Za-z_][A-Za-z0-9_]*)',
          captures: {
            1: { name: `punctuation.definition.variable.${S}` },
            2: { name: `variable.other.readwrite.${S}` },
          },
        },
      ],
    },
  },
};

const out = fileURLToPath(new URL('./rootfile.tmLanguage.json', import.meta.url));
export const json = `${JSON.stringify(grammar, null, 2)}\n`;
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) writeFileSync(out, json);
