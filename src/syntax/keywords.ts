/**
 * What the lexer and the fast path (`fast.ts`) share, without Chevrotain: the instruction names and
 * their grammar families, and the token patterns for `--flag` and words.
 */

/** Dockerfile instructions and rootc's extensions. */
export const instructionNames = [
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
  'REMOVE',
  'INCLUDE',
  'ANNOTATION',
] as const;
export type InstructionName = (typeof instructionNames)[number];

export type Family =
  | 'shell' // RUN CMD ENTRYPOINT SHELL: exec form or one shell string
  | 'list' // ADD COPY VOLUME REMOVE: exec form or whitespace-separated words
  | 'words' // EXPOSE: whitespace-separated words
  | 'string' // USER WORKDIR STOPSIGNAL MAINTAINER: the rest of the line
  | 'keyValue' // ENV LABEL (incl. legacy `ENV k v`)
  | 'annotation' // ANNOTATION key=value…
  | 'arg' // ARG name[=value]…
  | 'include' // INCLUDE name KEY=VALUE…
  | 'healthcheck'
  | 'from'
  | 'onbuild'
  | 'unknown';

export const familyOf: Record<InstructionName, Family> = {
  RUN: 'shell',
  CMD: 'shell',
  ENTRYPOINT: 'shell',
  SHELL: 'shell',
  ADD: 'list',
  COPY: 'list',
  VOLUME: 'list',
  REMOVE: 'list',
  EXPOSE: 'words',
  USER: 'string',
  WORKDIR: 'string',
  STOPSIGNAL: 'string',
  MAINTAINER: 'string',
  ENV: 'keyValue',
  LABEL: 'keyValue',
  ANNOTATION: 'annotation',
  ARG: 'arg',
  INCLUDE: 'include',
  HEALTHCHECK: 'healthcheck',
  FROM: 'from',
  ONBUILD: 'onbuild',
};

/** `--name[=value]`; quotes group spaces, backslash escapes (always backslash, as in BuildKit). */
export const flagPattern =
  /--(?:[^ \t\n\v\f\r"'\\]|\\[^\n]?|"(?:[^"\\\n]|\\[^\n]?)*"?|'(?:[^'\\\n]|\\[^\n]?)*'?)*/;

/** A word: split on BuildKit's token whitespace `[\t\v\f\r ]`, quotes and escapes kept. */
export function wordPattern(esc: string): RegExp {
  const e = esc === '\\' ? '\\\\' : esc;
  return new RegExp(`(?:[^ \\t\\n\\v\\f\\r"'${e}]|${e}[^\\n]?|"(?:[^"${e}\\n]|${e}[^\\n]?)*"?|'[^'\\n]*'?)+`);
}
