/** Diagnostic codes of the syntax phase. Stable: tests, editors and docs refer to them. */
export const SyntaxCodes = {
  /** A parser directive that BuildKit rejects: invalid escape token, a directive given twice. */
  invalidDirective: 'syntax/invalid-directive',
  /** The file has no instruction at all (BuildKit: "file with no instructions"). */
  noInstructions: 'syntax/no-instructions',
  /** A keyword that is neither a Dockerfile instruction nor a rootc extension. */
  unknownInstruction: 'syntax/unknown-instruction',
  /** A blank line inside a line continuation (warning; BuildKit: "Empty continuation line"). */
  emptyContinuation: 'syntax/empty-continuation',
  /** A heredoc whose terminator never comes. */
  unterminatedHeredoc: 'syntax/unterminated-heredoc',
  /** A heredoc delimiter word the shell lexer rejects. */
  invalidHeredoc: 'syntax/invalid-heredoc',
  /** Exec form with something other than strings in the JSON array. */
  jsonNotStrings: 'syntax/json-not-strings',
  /** ENV/LABEL/ANNOTATION/INCLUDE key-value syntax errors. */
  invalidKeyValue: 'syntax/invalid-key-value',
  /** ONBUILD ONBUILD, ONBUILD FROM, ONBUILD MAINTAINER. */
  invalidOnbuild: 'syntax/invalid-onbuild',
  /** The grammar of an instruction is not followed (FROM forms, REMOVE/INCLUDE arity…). */
  invalidInstruction: 'syntax/invalid-instruction',
  /** A required argument is missing. */
  missingArgument: 'syntax/missing-argument',
  /** MAINTAINER (deprecated, accepted). */
  deprecatedMaintainer: 'syntax/deprecated-maintainer',
  /** A bug in the parser, caught so that callers never see an exception. */
  internalError: 'syntax/internal-error',
} as const;

export type SyntaxCode = (typeof SyntaxCodes)[keyof typeof SyntaxCodes];
