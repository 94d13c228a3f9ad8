#!/usr/bin/env node
// Builds each sample and writes docs/samples.md: image size (uncompressed and compressed) and build time,
// next to the published sizes of the nearest public images.
//
//   npm run samples:table [-- --cache DIR] [-- --only hello,static-app] [-- --stdout]
//
// Sizes come from an oci-archive output with gzip layers: "compressed" is the sum of the layer blobs (what
// a registry stores and a pull downloads, the figure Docker Hub shows); "uncompressed" is the sum of the
// regular files' sizes in every layer (what `docker image inspect` reports as Size, near enough). Build time
// is the wall time of `rootc build` with an empty cache, unless --cache names one (then the table says so).
// The samples that debootstrap need a Debian mirror; run as root (or rootless, see docs/architecture.md).
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = ['hello', 'busybox-glibc', 'static-app', 'debian-minimal'];

// Published figures, linux/amd64 (no network to Docker Hub from the build machines, so quoted, not measured).
const PUBLIC = [
  {
    image: '`busybox:glibc` (1.36)',
    compressed: '≈ 2.2 MB',
    uncompressed: '≈ 4.3 MB',
    compare: 'busybox-glibc',
  },
  {
    image: '`debian:bookworm-slim`',
    compressed: '≈ 28 MB',
    uncompressed: '≈ 75 MB',
    compare: 'debian-minimal',
  },
];

function parseArgs(argv) {
  const opts = { cache: undefined, only: SAMPLES, stdout: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--cache') opts.cache = path.resolve(argv[++i]);
    else if (argv[i] === '--only') opts.only = argv[++i].split(',');
    else if (argv[i] === '--stdout') opts.stdout = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

/** Reads entries of a tar stream; onEntry(header, stream) must consume or drain the stream. */
async function readTar(input, onEntry) {
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    let ended = false;
    stream.on('end', () => {
      ended = true;
    });
    Promise.resolve(onEntry(header, stream)).then(
      () => {
        if (ended) next();
        else {
          stream.on('end', next);
          stream.resume();
        }
      },
      (err) => extract.destroy(err),
    );
  });
  await pipeline(input, extract);
}

async function streamToBuffer(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Sizes of an oci-archive: its JSON blobs read, each layer's files counted. */
async function measureArchive(file) {
  const blobs = new Map(); // digest hex → Buffer (small JSON blobs only)
  const layerFiles = new Map(); // digest hex → sum of regular files' sizes
  const blobSizes = new Map();
  let index;
  await readTar(createReadStream(file), async (header, stream) => {
    if (header.name === 'index.json') index = JSON.parse((await streamToBuffer(stream)).toString());
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(header.name);
    if (!m) return;
    blobSizes.set(m[1], header.size);
    if (header.size < 1 << 20) {
      const buf = await streamToBuffer(stream);
      blobs.set(m[1], buf);
      if (buf[0] !== 0x1f) return; // JSON, not a gzip layer
      layerFiles.set(m[1], await fileBytes(Readable.from([buf])));
    } else layerFiles.set(m[1], await fileBytes(stream));
  });
  const manifestDigest = index.manifests[0].digest.replace('sha256:', '');
  const manifest = JSON.parse(blobs.get(manifestDigest).toString());
  let compressed = 0;
  let uncompressed = 0;
  for (const layer of manifest.layers) {
    const hex = layer.digest.replace('sha256:', '');
    compressed += layer.size;
    uncompressed += layerFiles.get(hex) ?? 0;
  }
  return { compressed, uncompressed, layers: manifest.layers.length };
}

async function fileBytes(gzStream) {
  let total = 0;
  await readTar(gzStream.pipe(createGunzip()), (header) => {
    if (header.type === 'file' || header.type === 'contiguous-file') total += header.size;
  });
  return total;
}

function human(bytes) {
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(path.join(os.tmpdir(), 'rootc-samples-'));
  const cache = opts.cache ?? path.join(work, 'cache');
  const rows = [];
  try {
    for (const name of opts.only) {
      const out = path.join(work, `${name}.tar`);
      const t0 = process.hrtime.bigint();
      const r = spawnSync(
        process.execPath,
        [
          path.join(repo, 'bin/rootc.js'),
          'build',
          path.join(repo, 'samples', name),
          '-t',
          `rootc/${name}:latest`,
          '-o',
          `type=oci-archive,dest=${out},compression=gzip`,
        ],
        { env: { ...process.env, ROOTC_CACHE_DIR: cache }, stdio: ['ignore', 'inherit', 'inherit'] },
      );
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`rootc build samples/${name} failed (exit ${r.status})`);
      const size = await measureArchive(out);
      rows.push({ name, seconds, ...size });
      process.stderr.write(`[samples] ${name}: ${human(size.uncompressed)}, ${human(size.compressed)} gz, ${seconds.toFixed(1)} s\n`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const md = render(rows, opts);
  if (opts.stdout) process.stdout.write(md);
  else {
    writeFileSync(path.join(repo, 'docs/samples.md'), md);
    process.stderr.write('[samples] wrote docs/samples.md\n');
  }
}

function render(rows, opts) {
  const load = os.loadavg()[0].toFixed(1);
  const lines = [
    '# Samples: sizes and build times',
    '',
    '<!-- Generated by `npm run samples:table` (scripts/samples-table.js); edit the script, not this file. -->',
    '',
    'Each sample in [samples/](../samples) as `rootc build` makes it (linux/amd64). **Uncompressed** is the sum',
    "of the files in the image's layers (what `docker image inspect` reports as `Size`), **compressed** the sum",
    'of its gzip layers (what a registry stores and a pull downloads; Docker Hub shows this one). **Build** is',
    `the wall time of \`rootc build\` ${opts.cache ? 'with an existing cache' : 'with an empty cache'}, debootstrap included, on a machine with ${os.cpus().length} CPUs`,
    `(load average ${load} when measured: the numbers are indicative). The samples are built in this order into one`,
    'cache, so a later one may reuse what an earlier one fetched.',
    '',
    '| sample | uncompressed | compressed | layers | build |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| [${r.name}](../samples/${r.name}) | ${human(r.uncompressed)} | ${human(r.compressed)} | ${r.layers} | ${r.seconds.toFixed(0)} s |`,
    );
  lines.push(
    '',
    '`gentoo-stage3` is not measured: it needs a stage3 release download (hundreds of MB) and a keyring.',
    '',
    '## The nearest public images',
    '',
    '| image | uncompressed | compressed | compare with |',
    '|---|---:|---:|---|',
  );
  for (const p of PUBLIC) lines.push(`| ${p.image} | ${p.uncompressed} | ${p.compressed} | ${p.compare} |`);
  lines.push(
    '',
    'These are published figures, not measured here (the build machines have no network access to Docker Hub),',
    'linux/amd64, rounded: they move a little with each rebuild of those tags. Compressed: what the tag pages',
    '(<https://hub.docker.com/_/busybox/tags?name=glibc>, <https://hub.docker.com/_/debian/tags?name=bookworm-slim>)',
    'show. Uncompressed: what `docker images` lists after a pull; for `busybox:glibc` the 4.34 MB quoted by',
    '<https://elegantinfrastructure.com/containers/cotw-busybox/> (uclibc 1.11 MB, musl 1.32 MB, glibc 4.34 MB).',
    'Check the current numbers there before relying on them. `busybox:glibc` is busybox built against Debian\'s',
    'glibc plus the libraries it needs, like busybox-glibc here; `debian:bookworm-slim` is a debootstrapped',
    'bookworm with documentation and translations kept out by dpkg path-excludes, like debian-minimal (which',
    'starts from `minbase`, fewer packages).',
    '',
  );
  return lines.join('\n');
}

await main();
