/**
 * The image configuration as the OCI image-spec (`config.md`) and Docker's image JSON define it. Field names
 * are the JSON ones, so a value serializes as is.
 */

export interface HealthConfig {
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", cmd]`. */
  Test: string[];
  /** Durations in nanoseconds, as Docker stores them. */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface ContainerConfig {
  User?: string;
  /** `"80/tcp": {}` */
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  /** `"/data": {}` */
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  /** Docker extension (SHELL). */
  Shell?: string[];
  /** Docker extension (ONBUILD triggers, as source text). */
  OnBuild?: string[];
  ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: HistoryEntry[];
}

/** Node's `process.arch` to the GOARCH names images use. */
export function imageArchitecture(arch: string = process.arch): { architecture: string; variant?: string } {
  switch (arch) {
    case 'x64':
      return { architecture: 'amd64' };
    case 'arm64':
      return { architecture: 'arm64', variant: 'v8' };
    case 'arm':
      return { architecture: 'arm', variant: 'v7' };
    case 'ia32':
      return { architecture: '386' };
    default:
      return { architecture: arch };
  }
}

/** RFC 3339 UTC time for `created` from seconds since the epoch (SOURCE_DATE_EPOCH). */
export function epochToCreated(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
