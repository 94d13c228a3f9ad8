// A deterministic, realistic Rootfile of n instructions: stages, RUN chains with continuations and
// comments, heredocs, exec form, ENV/LABEL/ARG pairs, COPY with flags.
export function generateRootfile(n) {
  let seed = 42;
  const rand = (k) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % k;
  };
  const out = ['# syntax=docker/dockerfile:1', 'ARG BASE=debian:12', ''];
  let count = 0;
  let stage = 0;
  while (count < n) {
    if (count % 200 === 0) {
      out.push(`FROM \${BASE} AS stage${stage++}`);
      count++;
      continue;
    }
    switch (rand(10)) {
      case 0:
        out.push(
          'RUN set -eux; \\',
          '    apt-get update; \\',
          '    # keep the image small',
          `    apt-get install -y --no-install-recommends pkg${rand(1000)} ca-certificates; \\`,
          '    rm -rf /var/lib/apt/lists/*',
        );
        break;
      case 1:
        // --from an earlier stage (never the current one: that is an error).
        if (stage >= 2) out.push(`COPY --from=stage${stage - 2} --chown=app:app /src/file${rand(100)} /dst/`);
        else out.push(`COPY --chown=app:app src/file${rand(100)} /dst/`);
        break;
      case 2:
        out.push(`ENV APP_HOME=/opt/app PATH="/opt/app/bin:$PATH" LEVEL=${rand(9)}`);
        break;
      case 3:
        out.push(`LABEL org.opencontainers.image.version="1.${rand(50)}" maintainer="dev@example.com"`);
        break;
      case 4:
        out.push('CMD ["/usr/bin/app", "--config", "/etc/app.conf"]');
        break;
      case 5:
        out.push('RUN <<EOF', '#!/bin/sh', `echo step ${count}`, 'EOF');
        break;
      case 6:
        out.push(`WORKDIR /opt/app/${rand(20)}`, '');
        break;
      case 7:
        out.push(`ARG VERSION_${rand(100)}=1.2.3`);
        break;
      case 8:
        out.push(`EXPOSE ${8000 + rand(1000)}/tcp`);
        break;
      default:
        out.push(`RUN make -C /src/mod${rand(30)} -j4 install && strip /usr/local/bin/tool${rand(30)}`);
    }
    count++;
  }
  return `${out.join('\n')}\n`;
}
