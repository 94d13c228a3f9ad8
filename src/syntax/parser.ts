/**
 * Pass 2 grammar (Chevrotain, embedded actions): one rule per instruction family over the tokens of
 * the logical lines. The rules find the structure (keyword, builder flags, arguments, FROM's forms,
 * ONBUILD's inner instruction); `instructions.ts` computes argument values from the text with
 * BuildKit's own splitting rules. Built once per process, on first use.
 */
import type { IRecognitionException, ISerializedGast, IToken } from 'chevrotain';
import { chevrotain } from './chevrotain.js';
import type { Family } from './keywords.js';
import { lexerTokens } from './lexer.js';

/** What the parse keeps of a token (the fast path, `fast.ts`, makes these without Chevrotain). */
export type Tok = Pick<IToken, 'image' | 'startOffset' | 'isInsertedInRecovery'>;

export interface ParsedFrom {
  kind?: Tok;
  source?: Tok;
  image?: Tok;
  as?: Tok;
  name?: Tok;
  trailingFlags: Tok[];
  extra: Tok[];
}

export interface ParsedInstruction {
  family: Family;
  keyword: Tok;
  flags: Tok[];
  dashdash?: Tok;
  rest: Tok[];
  from?: ParsedFrom;
  inner?: ParsedInstruction;
}

/** FROM's rootc source kinds (the word after FROM, when a source follows it). */
export const fromKinds = new Set(['tarball', 'stage3', 'debootstrap', 'docker-archive', 'oci', 'aci']);

interface Tail {
  flags: Tok[];
  dashdash?: Tok;
  rest: Tok[];
}

interface RootfileParser {
  input: IToken[];
  errors: IRecognitionException[];
  rootfile(): ParsedInstruction[] | undefined;
  getSerializedGastProductions(): ISerializedGast[];
}

/** The parser class is made when first needed, with Chevrotain loaded then. */
function makeParser(validate: boolean): RootfileParser {
  const { EmbeddedActionsParser, tokenMatcher } = chevrotain();
  const { As, allTokens, DashDash, Flag, familyTokens, keywords, Newline, PlainWord, Word } = lexerTokens();

  class RootfileParser extends EmbeddedActionsParser {
    /** `validate`: run Chevrotain's grammar checks (slow; the tests do, the CLI does not). */
    constructor(validate = false) {
      // The grammar accepts every token sequence (anything after a keyword is an argument), so there is
      // nothing to recover from: recovery off keeps parsing fast.
      super(allTokens, { recoveryEnabled: false, maxLookahead: 2, skipValidations: !validate });
      this.performSelfAnalysis();
    }

    rootfile = this.RULE('rootfile', (): ParsedInstruction[] => {
      const out: ParsedInstruction[] = [];
      this.MANY(() => {
        this.OR([
          { ALT: () => this.CONSUME(Newline) },
          {
            ALT: () => {
              const ins = this.SUBRULE(this.instruction);
              this.ACTION(() => out.push(ins));
            },
          },
        ]);
      });
      return out;
    });

    /** `--flag…` then an optional `--`. */
    flags = this.RULE('flags', (): Pick<Tail, 'flags' | 'dashdash'> => {
      const flags: IToken[] = [];
      let dashdash: IToken | undefined;
      this.MANY(() => {
        flags.push(this.CONSUME(Flag));
      });
      this.OPTION(() => {
        dashdash = this.CONSUME(DashDash);
      });
      return dashdash ? { flags, dashdash } : { flags };
    });

    /** Flags, then every word to the end of the logical line. */
    tail = this.RULE('tail', (): Tail => {
      const f = this.SUBRULE(this.flags);
      const rest: IToken[] = [];
      this.MANY(() => {
        rest.push(this.CONSUME(Word));
      });
      return { ...f, rest };
    });

    from = this.RULE('from', (): ParsedInstruction => {
      const keyword = this.CONSUME(keywords.FROM);
      const f = this.SUBRULE(this.flags);
      const p: ParsedFrom = { trailingFlags: [], extra: [] };
      this.OPTION(() => {
        this.OR({
          IGNORE_AMBIGUITIES: true,
          DEF: [
            {
              // `FROM <kind> <source> [--flag…]`: a kind word followed by a source word.
              GATE: () => this.kindAhead(),
              ALT: () => {
                p.kind = this.CONSUME1(Word);
                p.source = this.CONSUME2(Word);
                this.MANY1(() => {
                  p.trailingFlags.push(this.CONSUME(Flag));
                });
              },
            },
            {
              ALT: () => {
                p.image = this.CONSUME3(Word);
              },
            },
          ],
        });
        this.OPTION1(() => {
          p.as = this.CONSUME(As);
          p.name = this.CONSUME4(Word);
        });
      });
      this.MANY2(() => {
        p.extra.push(this.CONSUME5(Word));
      });
      return { family: 'from', keyword, ...f, rest: [], from: p };
    });

    onbuild = this.RULE('onbuild', (): ParsedInstruction => {
      const keyword = this.CONSUME(keywords.ONBUILD);
      const f = this.SUBRULE(this.flags);
      let inner: ParsedInstruction | undefined;
      this.OPTION(() => {
        inner = this.SUBRULE(this.instruction);
      });
      return inner
        ? { family: 'onbuild', keyword, ...f, rest: [], inner }
        : { family: 'onbuild', keyword, ...f, rest: [] };
    });

    unknown = this.RULE('unknown', (): ParsedInstruction => {
      const keyword = this.CONSUME(PlainWord);
      const t = this.SUBRULE(this.tail);
      return { family: 'unknown', keyword, ...t };
    });

    instruction = this.RULE('instruction', (): ParsedInstruction => {
      return this.OR(this.alternatives());
    });

    private alts: { ALT: () => ParsedInstruction }[] | undefined;
    private alternatives(): { ALT: () => ParsedInstruction }[] {
      if (this.alts) return this.alts;
      const alts: { ALT: () => ParsedInstruction }[] = [];
      let idx = 0;
      for (const [family, tok] of familyTokens) {
        if (family === 'from' || family === 'onbuild') continue;
        const i = idx++;
        alts.push({
          ALT: () => {
            const keyword = this.consume(i, tok);
            const t = this.subrule(i, this.tail);
            return { family, keyword, ...t };
          },
        });
      }
      alts.push({ ALT: () => this.SUBRULE(this.from) });
      alts.push({ ALT: () => this.SUBRULE(this.onbuild) });
      alts.push({ ALT: () => this.SUBRULE(this.unknown) });
      this.alts = alts;
      return alts;
    }

    private kindAhead(): boolean {
      const a = this.LA(1);
      const b = this.LA(2);
      return (
        tokenMatcher(a, PlainWord) &&
        !tokenMatcher(a, Flag) &&
        fromKinds.has(a.image.toLowerCase()) &&
        tokenMatcher(b, Word) &&
        !tokenMatcher(b, As) &&
        !tokenMatcher(b, Flag) &&
        !tokenMatcher(b, DashDash)
      );
    }
  }

  return new RootfileParser(validate);
}

let instance: RootfileParser | undefined;

/** Builds the grammar with Chevrotain's validations on; throws if the grammar is ambiguous or wrong. */
export function validateGrammar(): void {
  makeParser(true);
}

/** Parses a token vector of logical lines. The parser instance is built once per process. */
export function parseTokens(tokens: IToken[]): {
  instructions: ParsedInstruction[];
  errors: IRecognitionException[];
} {
  instance ??= makeParser(false);
  instance.input = tokens;
  const instructions = instance.rootfile() ?? [];
  return { instructions, errors: instance.errors };
}

/** The grammar as Chevrotain's serialized productions, for the syntax diagrams (`npm run docs:diagrams`). */
export function serializedGrammar(): ISerializedGast[] {
  instance ??= makeParser(false);
  return instance.getSerializedGastProductions();
}
