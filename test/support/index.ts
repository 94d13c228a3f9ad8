/**
 * Test support for rootc's end-to-end tests: real tools, real servers, no mocks.
 * Import from here: `import { requireTools, dockerRun, runRootc, tempDir } from '../support/index.js'`.
 * Each module's header documents its part; in short:
 *
 *   requireTools(...names) → boolean   guard a describe: skip locally / fail in CI when a tool is missing
 *   hasTool, toolPath, isCI
 *   docker, dockerLoad, dockerImport, dockerRun, dockerInspect, dockerEnv, uniqueRef
 *   registryAddress, startRegistry
 *   umoci, umociUnpack, skopeo, skopeoInspect, actool, actoolPath
 *   runRootc (opts.asUser for rootless), repoRoot
 *   tempDir, tempDirSync (opts.owner)
 *   rootlessUser, runAs   the unprivileged user rootc-test (rootless tests, issue 7)
 *   run (any other program, same result shape)
 */
export { actool, actoolPath } from './aci.js';
export {
  type DockerImage,
  type DockerRunOptions,
  docker,
  dockerEnv,
  dockerImport,
  dockerInspect,
  dockerLoad,
  dockerRun,
  uniqueRef,
} from './docker.js';
export { type RunOptions, type RunResult, run } from './exec.js';
export { skopeo, skopeoInspect, umoci, umociUnpack } from './oci.js';
export {
  freePort,
  type RegistryOptions,
  type RunningRegistry,
  registryAddress,
  startRegistry,
} from './registry.js';
export { type RootcOptions, repoRoot, runRootc } from './rootc.js';
export { type TempDirOptions, tempDir, tempDirSync } from './tmp.js';
export { hasTool, isCI, requireTools, type ToolName, toolPath } from './tools.js';
export { ROOTLESS_USER, rootlessUser, runAs, type TestUser } from './users.js';
