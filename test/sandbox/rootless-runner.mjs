// Run by test/sandbox/rootless.test.ts with the compiled sandbox and snapshot modules (argv[2]), as root
// and as an unprivileged user: enters the build namespace, makes a small busybox base, runs one RUN step
// on each driver and prints the layers as JSON lines. Plain JS so it runs without the test's transform.
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [dist, work, busybox] = process.argv.slice(2);
const { inBuildNamespace, reexecInBuildNamespace, inUserNamespace } = await import(
  `${dist}/sandbox/namespace.js`
);
if (!inBuildNamespace()) {
  process.exitCode = await reexecInBuildNamespace();
} else {
  const { runStep } = await import(`${dist}/sandbox/run.js`);
  const { OverlayDriver, CopyDriver, detectDriver } = await import(`${dist}/snapshot/index.js`);
  const out = { userns: inUserNamespace(), detected: await detectDriver(work), layers: {} };
  for (const [name, Driver] of [
    ['overlay', OverlayDriver],
    ['copy', CopyDriver],
  ]) {
    const driver = new Driver(path.join(work, name));
    const base = await driver.prepare(undefined);
    for (const d of ['bin', 'etc', 'old']) mkdirSync(path.join(base.rootfs, d));
    copyFileSync(busybox, path.join(base.rootfs, 'bin/busybox'));
    for (const a of ['sh', 'mkdir', 'chown', 'rm', 'ln', 'echo', 'chmod', 'id', 'cat'])
      symlinkSync('busybox', path.join(base.rootfs, 'bin', a));
    writeFileSync(
      path.join(base.rootfs, 'etc/passwd'),
      'root:x:0:0::/root:/bin/sh\nbuilder:x:1000:1000::/home/b:/bin/sh\n',
    );
    writeFileSync(path.join(base.rootfs, 'old/x'), 'x');
    await base.commit('base');
    await base.release();
    const step = await driver.prepare('base');
    const lines = [];
    const r = await runStep({
      rootfs: step.rootfs,
      argv: [
        '/bin/sh',
        '-c',
        'mkdir -p /d/e && echo hi > /d/f && chown 1000:1000 /d/f /d/e && chmod 4755 /d/f && ln -s f /d/l && rm -rf /old && cat /etc/hosts >/dev/null && id -u',
      ],
      user: { uid: 0, gid: 0 },
      onOutput: (l) => lines.push(l.line),
    });
    await step.commit('s1');
    await step.release();
    const entries = [];
    for await (const e of driver.diff('s1')) {
      entries.push(
        `${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid}${e.linkname ? ` -> ${e.linkname}` : ''}`,
      );
    }
    out.layers[name] = { exitCode: r.exitCode, output: lines, entries };
    await driver.close();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
