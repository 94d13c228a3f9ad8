/**
 * Running external programs from tests: one result shape for every tool wrapper.
 *
 * `run(cmd, args, opts)` resolves to `{ exitCode, stdout, stderr }`. By default a non-zero exit
 * throws an error whose message has the command line, the exit status and the end of stderr,
 * so a failing tool explains itself in the vitest report; pass `{ reject: false }` to check the
 * exit code yourself.
 */
import { execa } from 'execa';

export interface RunResult {
  /** The exit status; 128 + signal number when the process was killed by a signal. */
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Throw when the exit code is not 0 (default true). */
  reject?: boolean;
  cwd?: string;
  /** Added to the environment (which is otherwise inherited). */
  env?: Record<string, string | undefined>;
  /** Bytes or text given on stdin (default: no stdin). */
  input?: string | Uint8Array;
  /** Kill after this many milliseconds (default 120 s). */
  timeout?: number;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGSEGV: 11,
  SIGABRT: 6,
};

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await execa(cmd, [...args], {
    reject: false,
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: true,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    input: opts.input,
    timeout: opts.timeout ?? 120_000,
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  if (r.exitCode === undefined && r.cause !== undefined && r.signal === undefined && !r.timedOut) {
    // The program could not be started at all (ENOENT, EACCES).
    throw new Error(`cannot run ${cmd}: ${String((r.cause as Error).message ?? r.cause)}`);
  }
  const exitCode = r.exitCode ?? 128 + (SIGNALS[r.signal ?? ''] ?? 0);
  const result: RunResult = { exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  if (opts.reject !== false && exitCode !== 0) {
    const how = r.timedOut ? `timed out after ${opts.timeout ?? 120_000} ms` : `exited with ${exitCode}`;
    const tail = (result.stderr || result.stdout).trimEnd().split('\n').slice(-20).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} ${how}${tail ? `:\n${tail}` : ''}`);
  }
  return result;
}
