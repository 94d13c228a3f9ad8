/**
 * The dispatch table: one lowering function per instruction (BuildKit's `instructions` parse and
 * `dockerfile2llb` dispatch in one step), each in the module of its family: vars.ts, run.ts,
 * metadata.ts, copy.ts.
 */
import { lowerCopyOrAdd, lowerRemove } from './copy.js';
import { type Ctx, checkFlags, error, type Handler, node } from './instruction-context.js';
import {
  lowerExpose,
  lowerHealthcheck,
  lowerMaintainer,
  lowerOnbuild,
  lowerStopSignal,
  lowerUser,
  lowerVolume,
  lowerWorkdir,
} from './metadata.js';
import { lowerCmd, lowerEntrypoint, lowerRun, lowerShell } from './run.js';
import { lowerArg, lowerEnv, lowerKeyValues } from './vars.js';

export { destination } from './copy.js';
export { type Ctx, expandIn, type StageRef } from './instruction-context.js';

function lowerInclude(ctx: Ctx): void {
  checkFlags(ctx);
  ctx.include(ctx);
}

function lowerFromInStage(ctx: Ctx): void {
  // FROM starts a stage; the lowerer splits stages before dispatch, so this only happens in a fragment.
  error(ctx, 'lower/bad-include', 'an INCLUDE fragment cannot contain FROM', node(ctx).keywordRange);
}

export const HANDLERS: Record<string, Handler> = {
  ADD: (ctx) => lowerCopyOrAdd(ctx, 'ADD'),
  ANNOTATION: (ctx) => lowerKeyValues(ctx, 'Annotations'),
  ARG: lowerArg,
  CMD: lowerCmd,
  COPY: (ctx) => lowerCopyOrAdd(ctx, 'COPY'),
  ENTRYPOINT: lowerEntrypoint,
  ENV: lowerEnv,
  EXPOSE: lowerExpose,
  FROM: lowerFromInStage,
  HEALTHCHECK: lowerHealthcheck,
  INCLUDE: lowerInclude,
  LABEL: (ctx) => lowerKeyValues(ctx, 'Labels'),
  MAINTAINER: lowerMaintainer,
  ONBUILD: lowerOnbuild,
  REMOVE: lowerRemove,
  RUN: lowerRun,
  SHELL: lowerShell,
  STOPSIGNAL: lowerStopSignal,
  USER: lowerUser,
  VOLUME: lowerVolume,
  WORKDIR: lowerWorkdir,
};
