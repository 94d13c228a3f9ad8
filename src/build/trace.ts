/**
 * `ROOTC_TRACE=1`: one line on stderr per phase of a build (`TRACE <ms> [pid] <what>`, the time in ms modulo
 * 100 s on the wall clock, so the parent's and the re-executed child's lines share one clock). For finding
 * where a build's time goes; what counts is measured by `npm run bench`.
 */
const enabled = Boolean(process.env.ROOTC_TRACE);

export function trace(what: string): void {
  if (!enabled) return;
  const ms = (performance.timeOrigin + performance.now()) % 100_000;
  process.stderr.write(`TRACE ${ms.toFixed(1)} [${process.pid}] ${what}\n`);
}
