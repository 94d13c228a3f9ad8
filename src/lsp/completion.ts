/**
 * Completion, by what the cursor is on (like dockerfile-language-server's): an instruction keyword
 * at the start of a line; the flags of the instruction being written (lowering's own flag tables);
 * stage names after `--from=` and as FROM's image; FROM's source kinds; stdlib fragments after
 * INCLUDE, then their ARGs as KEY=; ARG/ENV names after `$` / `${`.
 */
import {
  type CompletionItem,
  CompletionItemKind,
  CompletionItemTag,
  InsertTextFormat,
} from 'vscode-languageserver/node';
import { stdlibNames } from '../cli/compile.js';
import { INSTRUCTION_FLAGS } from '../lower/flags.js';
import { KIND_FLAGS } from '../lower/from.js';
import { instructionNames } from '../syntax/index.js';
import { fromKinds } from '../syntax/parser.js';
import { type Analysis, stageAt, stageNames } from './analysis.js';
import { type Cursor, cursorAt } from './cursor.js';
import { includeParameters } from './include.js';
import { variablesAt } from './scope.js';

export function complete(a: Analysis, offset: number): CompletionItem[] {
  const c = cursorAt(a, offset);
  if (c.inComment) return [];
  const variable = /\$(\{)?([A-Za-z_][A-Za-z0-9_]*)?$/.exec(c.prefix);
  if (variable) return variables(a, c, variable[1] === '{', variable[2] ?? '');
  if (c.heredoc) return [];
  if (c.atKeyword) return keywords(c);
  const kw = c.keyword;
  if (!kw) return [];
  const fromFlag = /^--from=(.*)$/.exec(c.word);
  if (fromFlag && kw === 'COPY') return stages(a, c, offset, '--from='.length, true);
  if (c.word.startsWith('--') && !c.word.includes('=')) return flags(c, kw);
  const args = c.words.slice(0, -1).filter((w) => !w.startsWith('--'));
  if (kw === 'FROM' && args.length === 0) {
    return [
      ...[...fromKinds, 'scratch'].map((k) => item(k, CompletionItemKind.Keyword, c, 'rootc source kind')),
      ...stages(a, c, offset, 0, false),
    ];
  }
  // After a source kind comes its path or URL, not AS.
  if (kw === 'FROM' && args.length === 1 && fromKinds.has(args[0]!.toLowerCase())) return [];
  if (kw === 'FROM' && args.length >= 1 && !args.some((w) => w.toUpperCase() === 'AS'))
    return [item('AS', CompletionItemKind.Keyword, c, 'name this stage')];
  if (kw === 'INCLUDE' && args.length === 0)
    return stdlibNames().map((n) => item(n, CompletionItemKind.Module, c, 'stdlib fragment'));
  if (kw === 'INCLUDE' && args.length >= 1) {
    return includeParameters(a, args[0]!).map((p) => ({
      ...item(`${p.name}=`, CompletionItemKind.Variable, c, p.value ? `default: ${p.value}` : 'required'),
      command: { title: '', command: 'editor.action.triggerSuggest' },
    }));
  }
  return [];
}

function item(label: string, kind: CompletionItemKind, c: Cursor, detail?: string): CompletionItem {
  return { label, kind, ...(detail ? { detail } : {}), ...edit(c, c.wordStart, label) };
}

/** Replace the word being typed (so `--fr` + `--from=` does not become `----from=`). */
function edit(c: Cursor, start: number, newText: string): Pick<CompletionItem, 'textEdit'> {
  return {
    textEdit: {
      newText,
      range: { start: c.pos(start), end: c.pos(c.offset) },
    },
  } as Pick<CompletionItem, 'textEdit'>;
}

function keywords(c: Cursor): CompletionItem[] {
  const onbuild = /^\s*onbuild\s/i.test(c.prefix);
  return instructionNames
    .filter((k) => !onbuild || !['ONBUILD', 'FROM', 'MAINTAINER'].includes(k))
    .map((k) => ({
      ...item(k, CompletionItemKind.Keyword, c),
      ...(k === 'MAINTAINER' ? { tags: [CompletionItemTag.Deprecated] } : {}),
    }));
}

function flags(c: Cursor, kw: string): CompletionItem[] {
  let table = INSTRUCTION_FLAGS[kw] ?? {};
  if (kw === 'FROM') {
    const kind = c.words.find((w) => fromKinds.has(w.toLowerCase()))?.toLowerCase();
    table = { ...table, ...(kind ? KIND_FLAGS[kind as keyof typeof KIND_FLAGS] : {}) };
  }
  return Object.entries(table).map(([name, kind]) => {
    const label = kind === 'bool' ? `--${name}` : `--${name}=`;
    return {
      ...item(label, CompletionItemKind.Property, c, kind === 'multi' ? 'repeatable' : kind),
      ...(kind === 'bool' ? {} : { command: { title: '', command: 'editor.action.triggerSuggest' } }),
    };
  });
}

function stages(a: Analysis, c: Cursor, offset: number, skip: number, host: boolean): CompletionItem[] {
  const current = stageAt(a, offset);
  const out: CompletionItem[] = [];
  for (const s of stageNames(a)) {
    if (current && s.stage.index >= current.index) continue;
    out.push({
      label: s.name,
      kind: CompletionItemKind.Reference,
      detail: `stage ${s.stage.index}`,
      ...edit(c, c.wordStart + skip, s.name),
    });
  }
  if (host)
    out.push({
      label: 'host',
      kind: CompletionItemKind.Keyword,
      detail: "the host's filesystem",
      ...edit(c, c.wordStart + skip, 'host'),
    });
  return out;
}

function variables(a: Analysis, c: Cursor, braced: boolean, partial: string): CompletionItem[] {
  const start = c.offset - partial.length;
  return [...variablesAt(a, c.offset).values()].map((v) => ({
    label: v.name,
    kind: v.kind === 'ENV' ? CompletionItemKind.Variable : CompletionItemKind.Constant,
    detail: `${v.kind === 'predefined' ? 'predefined ARG' : v.kind}${v.value !== undefined ? ` = ${v.value}` : ''}`,
    ...edit(c, start, v.name),
    ...(braced ? { insertTextFormat: InsertTextFormat.PlainText } : {}),
  }));
}
