export {
  BUILD_NS_ENV,
  buildNamespaceCommand,
  inBuildNamespace,
  inUserNamespace,
  reexecInBuildNamespace,
  subordinateIdProblems,
} from './namespace.js';
export {
  DEFAULT_PATH,
  type NetworkMode,
  type OutputLine,
  type RunStepOptions,
  type RunStepResult,
  runStep,
  sweepRunScratch,
} from './run.js';
export { type ResolvedUser, resolveUser } from './users.js';
export { ensureWorkdir } from './workdir.js';
