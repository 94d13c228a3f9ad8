/**
 * The IR: what lowering hands to the build interpreter. Versioned JSON, documented field by field in
 * docs/ir.md. Everything is resolved: no variables are left except inside shell-form RUN scripts
 * (the shell expands those at run time), paths are absolute, stage references are stage ids.
 */

export const IR_VERSION = 1 as const;

export interface IR {
  version: typeof IR_VERSION;
  /** The Rootfile lowered, as given to the compiler. */
  file: string;
  /** Id of the stage the build produces (the last stage, or `--target`). */
  target: string;
  /** The platform the TARGET* / BUILD* arguments were computed from. */
  platform: Platform;
  /**
   * Proxy variables given as build args (HTTP_PROXY, no_proxy, …): added to the environment of every
   * RUN, never written to the image and not part of any cache key (as in Docker).
   */
  proxyEnv: Record<string, string>;
  /** The stages the target needs, each after the stages it depends on; the target is last. */
  stages: Stage[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Stage {
  /** Unique id: the `AS` name (lower case), or `stage-<index>` for an unnamed stage. */
  id: string;
  /** The `AS` name, lower case, when there is one. */
  name?: string;
  /** Position of the FROM in the Rootfile (0-based), what `COPY --from=<index>` refers to. */
  index: number;
  base: Base;
  /** `FROM --platform=` after expansion, when given. */
  platform?: string;
  /** Ids of the stages this one needs: its base stage and every `COPY --from` stage, in first-use order. */
  dependsOn: string[];
  /** The FROM instruction. */
  location: Location;
  steps: Step[];
}

/** Where a path or URL comes from. Paths are relative to the build context unless absolute. */
export type Origin = { type: 'path'; path: string } | { type: 'url'; url: string };

/** A stage's starting rootfs and config, by kind. */
export type Base =
  | { kind: 'scratch' }
  | { kind: 'stage'; stage: string }
  | { kind: 'tarball'; source: Origin; sha256?: string }
  | { kind: 'stage3'; source: Origin; digests?: Origin; keyring?: string }
  | { kind: 'debootstrap'; suite: string; variant?: string; mirror?: string; include: string[] }
  | { kind: 'docker-archive'; path: string; reference?: string }
  | { kind: 'oci'; path: string; reference?: string }
  | { kind: 'aci'; path: string }
  | {
      kind: 'image';
      /** Normalized reference: `docker.io/library/debian:bookworm`, `example.com:5000/app@sha256:…`. */
      ref: string;
      /** The reference as written (after expansion). */
      original: string;
    };

export interface IncludeSite {
  file: string;
  line: number;
  column: number;
}

/** Source location of a step (not part of its cache key). */
export interface Location {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** The instruction as written (logical line), for progress output. */
  text: string;
  /** The INCLUDE instructions this step was spliced through (and the FROM that ran it as an ONBUILD trigger), outermost first. */
  includeChain: IncludeSite[];
}

export type NetworkMode = 'default' | 'none' | 'host';

export interface RunStep {
  op: 'run';
  /** The full command: exec form as written, or shell form wrapped with the current SHELL. */
  argv: string[];
  /** True when written in shell form (argv = SHELL + [script]). */
  shellForm: boolean;
  /**
   * `K=V` in order: the base's environment (when known) overlaid with every ENV and every ARG in
   * scope, as Docker passes them to RUN. Entries override the base image's config Env.
   */
  env: string[];
  /** `user[:group]` as written by USER, or "" for the base's default (root for rootc-made bases). */
  user: string;
  /** Absolute working directory. */
  workdir: string;
  network: NetworkMode;
  /** Files to make available read-only while the command runs (RUN heredocs with a shebang). */
  inlineFiles: InlineFile[];
}

export interface InlineFile {
  /** Absolute path inside the sandbox, e.g. `/dev/pipes/EOF`. */
  path: string;
  content: string;
  mode: number;
}

/** Where COPY takes its sources from. */
export type CopyFrom =
  | { kind: 'context' }
  | { kind: 'stage'; stage: string }
  | { kind: 'image'; ref: string; original: string }
  | { kind: 'host' };

export type CopySource =
  /** A path or glob, relative to the source root (context, stage rootfs, image rootfs, or the host `/`). */
  | { kind: 'path'; path: string }
  /** A heredoc body written as a file named `name` (variables already expanded when the heredoc allows it). */
  | { kind: 'heredoc'; name: string; content: string };

export type AddSource =
  | { kind: 'path'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'heredoc'; name: string; content: string };

interface CopyCommon {
  /** Absolute destination; ends with `/` when written so (or when it was `.`): then it is a directory. */
  dest: string;
  /** `--chown` after expansion (`user[:group]`, names or ids), resolved against the image's /etc files. */
  chown?: string;
  /** `--chmod` as mode bits (from the octal value). */
  chmod?: number;
  link: boolean;
  /** `--exclude` patterns. */
  exclude: string[];
}

export interface CopyStep extends CopyCommon {
  op: 'copy';
  from: CopyFrom;
  sources: CopySource[];
  /** `--parents`: keep the source's parent directories below the destination. */
  parents: boolean;
  /** rootc `--deps`: also copy the shared libraries (DT_NEEDED closure) of ELF files copied. */
  deps: boolean;
}

export interface AddStep extends CopyCommon {
  op: 'add';
  sources: AddSource[];
  /** `--checksum` (`sha256:<hex>`…), for URL sources. */
  checksum?: string;
  /** Whether local archives are extracted (default true; `--unpack=false` turns it off). */
  unpack: boolean;
}

export interface RemoveStep {
  op: 'remove';
  /** Absolute paths or globs (joined with the WORKDIR when relative). */
  paths: string[];
}

export interface WorkdirStep {
  op: 'workdir';
  /** The new absolute working directory; created (owned by `user`) when missing. */
  path: string;
  user: string;
}

export interface Healthcheck {
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", script]`, as in Docker's config. */
  test: string[];
  /** Durations in nanoseconds, as Docker's config stores them; absent = default. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

/** One change to the image config, named after Docker's config fields. */
export type ConfigChange =
  /** Set (or replace, in place) these variables, in order. */
  | { field: 'Env'; env: [string, string][] }
  | { field: 'Labels'; labels: [string, string][] }
  /** rootc ANNOTATION: OCI manifest annotations and ACI annotations. */
  | { field: 'Annotations'; annotations: [string, string][] }
  | { field: 'Cmd'; cmd: string[] }
  /** `resetCmd`: no CMD was set in this stage yet, so an inherited CMD is dropped (Docker's rule). */
  | { field: 'Entrypoint'; entrypoint: string[] | null; resetCmd: boolean }
  | { field: 'User'; user: string }
  /** Normalized `port/proto`, ranges expanded. Added to the existing set. */
  | { field: 'ExposedPorts'; ports: string[] }
  /** Added to the existing set. */
  | { field: 'Volumes'; volumes: string[] }
  | { field: 'StopSignal'; signal: string }
  | { field: 'Shell'; shell: string[] }
  | { field: 'Healthcheck'; healthcheck: Healthcheck }
  /** Append one trigger (the instruction text after ONBUILD). */
  | { field: 'OnBuild'; trigger: string }
  /** MAINTAINER: Docker stores it as the image's `author`. */
  | { field: 'Author'; author: string };

export interface ConfigStep {
  op: 'config';
  change: ConfigChange;
}

/** A step without its location: what the cache key is computed from. */
export type StepBody = RunStep | CopyStep | AddStep | RemoveStep | WorkdirStep | ConfigStep;

export type Step = StepBody & { location: Location };

export type StepOp = Step['op'];
