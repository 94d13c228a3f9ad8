#!/usr/bin/env node
// Parse benchmark (`npm run bench:parse`, after `npm run build`):
//  1. wall time of `rootc check FILE` (or `rootc parse FILE` while `check` is not registered) on a
//     generated 10,000-instruction Rootfile, Node start-up included (target ≤ 0.5 s);
//  2. in-process parse throughput of rootc's parser against the npm package `dockerfile-ast` on the
//     same text, as a ratio (target: rootc at least as fast).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRootfile } from './rootfile-gen.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'rootc.js');
const N = Number(process.env.BENCH_INSTRUCTIONS ?? 10_000);

const text = generateRootfile(N);
const dir = mkdtempSync(join(tmpdir(), 'rootc-bench-'));
const file = join(dir, 'Rootfile');
writeFileSync(file, text);

const help = execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
const command = /^\s+check\b/m.test(help) ? 'check' : 'parse';

// Wall time, and the CPU time the child used (user + system, from /usr/bin/time when there): on a
// loaded machine wall time says more about the neighbours than about rootc.
const timeBin = ['/usr/bin/time', '/bin/time'].find((p) => existsSync(p));
function wall(args) {
  const t0 = process.hrtime.bigint();
  const r = timeBin
    ? spawnSync(timeBin, ['-f', 'CPU %U %S', process.execPath, cli, ...args], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      })
    : spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  const cpu = m ? (Number(m[1]) + Number(m[2])) * 1000 : Number.NaN;
  return { ms, cpu, status: r.status, stderr: r.stderr };
}

const runs = [];
const cpus = [];
let last;
for (let i = 0; i < 5; i++) {
  last = wall([command, file]);
  runs.push(last.ms);
  cpus.push(last.cpu);
}
runs.sort((a, b) => a - b);
cpus.sort((a, b) => a - b);
const median = runs[Math.floor(runs.length / 2)];
const cpuMedian = cpus[Math.floor(cpus.length / 2)];

// Where the time of `rootc check` goes (informational; the headline is the wall time above):
// Node alone, `rootc check` of a two-line file (Node + rootc's modules + commander), and a fresh
// process's first (cold: unoptimized code) parse and lowering of the file, medians of 5.
function mid(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
const small = join(dir, 'Small');
writeFileSync(small, 'FROM scratch\nRUN true\n');
const nodeOnly = [];
const smallCheck = [];
for (let i = 0; i < 5; i++) {
  let t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', '0']);
  nodeOnly.push(Number(process.hrtime.bigint() - t0) / 1e6);
  t0 = process.hrtime.bigint();
  spawnSync(process.execPath, [cli, command, small]);
  smallCheck.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const phaseScript = `
const t0 = performance.now();
const { parseRootfile } = await import(${JSON.stringify(join(root, 'dist', 'syntax', 'index.js'))});
await import(${JSON.stringify(join(root, 'dist', 'cli', 'compile.js'))}); // what \`check\` loads too
const { lowerRootfile } = await import(${JSON.stringify(join(root, 'dist', 'lower', 'index.js'))});
const t1 = performance.now();
const text = (await import('node:fs')).readFileSync(${JSON.stringify(file)}, 'utf8');
const t2 = performance.now();
const parsed = parseRootfile(text, ${JSON.stringify(file)});
const t3 = performance.now();
lowerRootfile(parsed.ast, { buildArgs: {}, parse: parseRootfile, readFile: () => undefined, stdlibDir: '', stdlibNames: [] });
const t4 = performance.now();
console.log(JSON.stringify({ imports: t1 - t0, parse: t3 - t2, lower: t4 - t3 }));
`;
const phases = [];
for (let i = 0; i < 5; i++) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', phaseScript], { encoding: 'utf8' });
  if (r.status === 0) phases.push(JSON.parse(r.stdout));
}

const { parseRootfile } = await import(join(root, 'dist', 'syntax', 'index.js'));
const require = createRequire(import.meta.url);
const { DockerfileParser } = require('dockerfile-ast');

// Warm both up, then alternate them and take each one's median, so that a change in the machine's
// load during the run hits both alike.
function medians(fns, rounds = 11) {
  for (const fn of fns) for (let i = 0; i < 3; i++) fn();
  const times = fns.map(() => []);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const t0 = process.hrtime.bigint();
      fn();
      times[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}
const [rootcMs, astMs] = medians([() => parseRootfile(text, 'Rootfile'), () => DockerfileParser.parse(text)]);
const check = parseRootfile(text, 'Rootfile');

const lines = text.split('\n').length;
const mb = Buffer.byteLength(text) / 1e6;
console.log(`Rootfile: ${N} instructions, ${lines} lines, ${(mb * 1000).toFixed(0)} KB`);
console.log(
  `rootc ${command} (wall, incl. Node start-up): median ${median.toFixed(0)} ms of 5 runs [${runs.map((r) => r.toFixed(0)).join(', ')}]` +
    ` exit ${last.status}${median <= 500 ? ' (target ≤ 500 ms: ok)' : ' (target ≤ 500 ms: MISSED)'}`,
);
if (Number.isFinite(cpuMedian))
  console.log(
    `  CPU time (user+sys) median ${cpuMedian.toFixed(0)} ms; load average now ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
  );
if (command !== 'check') console.log('  (`rootc check` is not registered yet: timed `rootc parse` instead)');
console.log(
  `  breakdown (medians of 5): node -e 0 ${mid(nodeOnly).toFixed(0)} ms; rootc ${command} of a 2-line file ${mid(smallCheck).toFixed(0)} ms` +
    (phases.length > 0
      ? `; in a fresh process: import syntax+lower ${mid(phases.map((p) => p.imports)).toFixed(0)} ms, first parse ${mid(phases.map((p) => p.parse)).toFixed(0)} ms, first lowering ${mid(phases.map((p) => p.lower)).toFixed(0)} ms`
      : ''),
);
console.log(
  `parseRootfile: ${rootcMs.toFixed(1)} ms/parse (${(mb / (rootcMs / 1000)).toFixed(1)} MB/s), ${check.ast.instructions.length} instructions, ${check.diagnostics.length} diagnostics`,
);
console.log(`dockerfile-ast: ${astMs.toFixed(1)} ms/parse (${(mb / (astMs / 1000)).toFixed(1)} MB/s)`);
console.log(
  `ratio: rootc is ${(astMs / rootcMs).toFixed(2)}× the speed of dockerfile-ast${rootcMs <= astMs ? ' (target ≥ 1: ok)' : ' (target ≥ 1: MISSED)'}`,
);
rmSync(dir, { recursive: true, force: true });
