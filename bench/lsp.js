#!/usr/bin/env node
// Language-server benchmark (`npm run bench:lsp`): spawns `rootc lsp --stdio`, opens a generated
// Rootfile of 2,000 lines, waits for its diagnostics (the file is open and checked), then times
// completion requests as an editor sends them (target: under 50 ms). Also times the first answer
// after an edit, which re-checks the file. Printed, not asserted: on a shared machine the numbers
// say as much about the neighbours as about rootc.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CompletionRequest,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
} from 'vscode-languageserver-protocol';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { generateRootfile } from './rootfile-gen.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LINES = Number(process.env.BENCH_LINES ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

// Enough instructions for LINES lines, then cut to exactly LINES and end with a line to complete on.
let n = LINES;
let text = generateRootfile(n);
while (text.split('\n').length < LINES) {
  n *= 2;
  text = generateRootfile(n);
}
const lines = text.split('\n').slice(0, LINES - 1);
// Do not cut inside a continuation or a heredoc: back up to the last line that starts an instruction
// after a complete one, then pad with comments.
while (lines.length > 0 && !/^(FROM|USER|WORKDIR|EXPOSE|LABEL|ENV|CMD) /.test(lines[lines.length - 1]))
  lines.pop();
while (lines.length < LINES - 1) lines.push('# padding');
lines.push('COPY --from=');
text = `${lines.join('\n')}\n`;

const dir = mkdtempSync(join(tmpdir(), 'rootc-bench-lsp-'));
const uri = pathToFileURL(join(dir, 'Rootfile')).href;
const proc = spawn(process.execPath, [join(root, 'bin/rootc.js'), 'lsp', '--stdio'], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const conn = createProtocolConnection(
  new StreamMessageReader(proc.stdout),
  new StreamMessageWriter(proc.stdin),
);
const published = [];
let onPublish = () => {};
conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
  published.push(p);
  onPublish();
});
conn.listen();

/** The server's CPU time so far (user + system, ms; Linux /proc, 10 ms ticks): robust to a loaded machine. */
const cpu = () => {
  try {
    const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
};
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const waitDiagnostics = (version) =>
  new Promise((resolve) => {
    const check = () => published.some((p) => p.version === version) && resolve();
    onPublish = check;
    check();
  });
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[s.length >> 1].toFixed(2)} ms, p90 ${s[Math.floor(s.length * 0.9)].toFixed(2)} ms, max ${s[s.length - 1].toFixed(2)} ms`;
};

let t = process.hrtime.bigint();
await conn.sendRequest(InitializeRequest.type, {
  processId: process.pid,
  rootUri: pathToFileURL(dir).href,
  capabilities: {},
});
await conn.sendNotification(InitializedNotification.type, {});
const startup = ms(t);

t = process.hrtime.bigint();
await conn.sendNotification(DidOpenTextDocumentNotification.type, {
  textDocument: { uri, languageId: 'rootfile', version: 1, text },
});
await waitDiagnostics(1);
const openMs = ms(t);

const last = LINES - 1;
const positions = [
  { name: '--from= (stage names)', position: { line: last, character: 'COPY --from='.length } },
  { name: 'instruction keyword', position: { line: last, character: 0 } },
];
const results = [];
for (const { name, position } of positions) {
  const times = [];
  let items = 0;
  const c0 = cpu();
  for (let i = 0; i < RUNS; i++) {
    t = process.hrtime.bigint();
    const r = await conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position });
    times.push(ms(t));
    items = Array.isArray(r) ? r.length : (r?.items.length ?? 0);
  }
  const perRequest = (cpu() - c0) / RUNS;
  results.push(
    `  completion at ${name}: ${stats(times)} (${items} items); server CPU ${perRequest.toFixed(2)} ms/request`,
  );
}

// After an edit: the completion that follows a change re-checks the file first.
const edits = [];
const e0 = cpu();
for (let v = 2; v < 2 + Math.min(RUNS, 10); v++) {
  await conn.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri, version: v },
    contentChanges: [
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '' },
    ],
  });
  t = process.hrtime.bigint();
  await conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: positions[0].position });
  edits.push(ms(t));
}
const editCpu = (cpu() - e0) / edits.length;

await conn.sendRequest(ShutdownRequest.type);
await conn.sendNotification(ExitNotification.type);
conn.dispose();
rmSync(dir, { recursive: true, force: true });

console.log(`rootc lsp --stdio, a ${LINES}-line Rootfile (${text.length} bytes), ${RUNS} requests each:`);
console.log(`  initialize: ${startup.toFixed(1)} ms; didOpen → diagnostics: ${openMs.toFixed(1)} ms`);
for (const r of results) console.log(r);
console.log(
  `  completion right after an edit (re-parse included): ${stats(edits)}; server CPU ${editCpu.toFixed(1)} ms/edit`,
);
console.log(
  `  machine load average: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
);
const median = Number(/median ([\d.]+)/.exec(results[0])[1]);
console.log(
  `target: completion under 50 ms after open — ${median < 50 ? 'met' : 'NOT met'} (median ${median} ms)`,
);
