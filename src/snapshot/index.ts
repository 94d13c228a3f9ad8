export { CopyDriver, compareManifests } from './copy.js';
export { detectDriver, openDriver, SNAPSHOTTER_ENV } from './detect.js';
export { diffDirEntries } from './diffdir.js';
export { OverlayDriver } from './overlay.js';
export type { ActiveSnapshot, SnapshotDriver, SnapshotKind } from './types.js';
