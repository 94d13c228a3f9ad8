import type { Command } from 'commander';
import { registerBuild } from './build.js';
import { registerCheck } from './check.js';
import { registerFmt } from './fmt.js';
import { registerIr } from './ir.js';
import { registerLsp } from './lsp.js';
import { registerParse } from './parse.js';
import { registerPush } from './push.js';

/** A subcommand registers itself on the program. Add new commands to this list. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  registerBuild,
  registerParse,
  registerCheck,
  registerIr,
  registerFmt,
  registerLsp,
  registerPush,
];
