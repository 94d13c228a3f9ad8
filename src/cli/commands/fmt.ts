/** placeholder replaced below */
import type { Command } from 'commander';
export function registerFmt(_program: Command): void {}
