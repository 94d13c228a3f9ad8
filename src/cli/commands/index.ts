import type { Command } from 'commander';
import { registerCheck } from './check.js';
import { registerIr } from './ir.js';

/** A subcommand registers itself on the program. Add new commands to this list. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerCheck, registerIr];
