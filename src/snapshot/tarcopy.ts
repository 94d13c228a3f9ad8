import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { DiagnosticError, error } from '../diagnostics/diagnostic.js';

/**
 * Copies the listed entries (relative paths, parents before children, directories not recursed) from
 * `src` to `dst` with everything a layer needs — owner, mode with setuid bits, nanosecond mtimes, xattrs
 * such as `security.capability` (set after the chown that would clear it), hardlinks among the listed
 * entries, device nodes and fifos — through a GNU tar pipe (`--no-recursion -T list`). Existing files at
 * `dst` are unlinked before being replaced (a hardlink to them elsewhere is not changed), existing
 * directories are kept and get the listed metadata. Measured 10× faster than an entry-by-entry copy in
 * Node for trees of small files, which is what the copy driver's commit and rebuild are made of.
 */
export async function tarCopy(
  src: string,
  dst: string,
  rels: string[],
  listFile: string,
  options: { dropOverlayXattrs?: boolean } = {},
): Promise<void> {
  if (rels.length === 0) return;
  await writeFile(listFile, rels.map((r) => `${r}\0`).join(''));
  const create = ['-C', src, '--create', '--no-recursion', '--null', '-T', listFile, '--format=posix'];
  const common = ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-f', '-'];
  const extract = [
    '-C',
    dst,
    '--extract',
    '--same-owner',
    '--preserve-permissions',
    '--delay-directory-restore',
  ];
  if (options.dropOverlayXattrs)
    extract.push('--xattrs-exclude=trusted.overlay.*', '--xattrs-exclude=user.overlay.*');
  const producer = spawn('tar', [...create, ...common], { stdio: ['ignore', 'pipe', 'pipe'] });
  const consumer = spawn('tar', [...extract, ...common], { stdio: ['pipe', 'ignore', 'pipe'] });
  producer.stdout.pipe(consumer.stdin);
  const errors: string[] = [];
  producer.stderr.on('data', (d: Buffer) => errors.push(d.toString()));
  consumer.stderr.on('data', (d: Buffer) => errors.push(d.toString()));
  const done = (p: ReturnType<typeof spawn>) =>
    new Promise<number>((resolve, reject) => {
      p.once('error', reject);
      p.once('close', (code) => resolve(code ?? 1));
    });
  const [a, b] = await Promise.all([done(producer), done(consumer)]);
  // GNU tar exits 1 for "file changed as we read it" and similar warnings; 2 is a real failure.
  if (a > 1 || b > 1) {
    throw new DiagnosticError(
      error(
        'build/snapshot-copy',
        `copying a snapshot failed: ${errors.join('').trim().split('\n').slice(-3).join('; ')}`,
      ),
    );
  }
}
