// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Rootfile text, not templates
import { describe, expect, it } from 'vitest';
import { compile, envOf, ir, lastStage, runs, steps } from './helpers.js';

describe('ARG and ENV scoping (Docker rules)', () => {
  const cases: {
    name: string;
    text: string;
    buildArgs?: Record<string, string>;
    env: Record<string, string>;
  }[] = [
    {
      name: 'a global ARG is not visible in a stage until redeclared',
      text: 'ARG V=1\nFROM scratch\nRUN a\nARG V\nRUN b\n',
      env: { V: '1' },
    },
    {
      name: '--build-arg overrides a global default, seen through the redeclaration',
      text: 'ARG V=1\nFROM scratch\nARG V\nRUN b\n',
      buildArgs: { V: '9' },
      env: { V: '9' },
    },
    {
      name: '--build-arg overrides a stage default',
      text: 'FROM scratch\nARG V=1\nRUN b\n',
      buildArgs: { V: '2' },
      env: { V: '2' },
    },
    {
      name: 'an ARG default is expanded with what is set before it',
      text: 'FROM scratch\nENV A=x\nARG B=${A}y\nARG C=$B-z\nRUN b\n',
      env: { A: 'x', B: 'xy', C: 'xy-z' },
    },
    {
      name: 'an ARG without value and without build arg is declared but not set',
      text: 'FROM scratch\nARG V\nRUN b\n',
      env: {},
    },
    {
      name: 'ENV wins over an earlier ARG of the same name',
      text: 'FROM scratch\nARG V=arg\nENV V=env\nRUN b\n',
      env: { V: 'env' },
    },
    {
      name: 'ENV values of one instruction see the environment before it',
      text: 'FROM scratch\nENV A=1\nENV A=2 B=$A\nRUN b\n',
      env: { A: '2', B: '1' },
    },
    {
      name: 'predefined platform args need an ARG in the stage',
      text: 'FROM scratch\nARG TARGETARCH\nARG TARGETOS\nRUN b\n',
      env: { TARGETARCH: 'amd64', TARGETOS: 'linux' },
    },
  ];
  it.each(cases)('$name', ({ text, buildArgs, env }) => {
    const rs = runs(text, buildArgs ? { buildArgs } : {});
    const { PATH: _path, ...rest } = envOf(rs[rs.length - 1]!);
    expect(rest).toEqual(env);
  });

  it('ARG before FROM is usable in FROM, with build args', () => {
    const i = ir('ARG TAG=bookworm\nFROM debian:${TAG}-slim\n', { buildArgs: { TAG: 'trixie' } });
    expect(lastStage(i).base).toEqual({
      kind: 'image',
      ref: 'docker.io/library/debian:trixie-slim',
      original: 'debian:trixie-slim',
    });
  });

  it('a stage does not inherit the ARGs of its base stage, only its config', () => {
    const rs = runs('FROM scratch AS a\nARG SECRET=s\nENV KEEP=k\nWORKDIR /w\nUSER u\nFROM a\nRUN x\n');
    expect(envOf(rs[0]!)).toEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      KEEP: 'k',
    });
    expect(rs[0]!.workdir).toBe('/w');
    expect(rs[0]!.user).toBe('u');
  });

  it('shell-form RUN is not expanded, exec form neither', () => {
    const rs = runs('FROM scratch\nARG V=1\nRUN echo $V ${V:-x}\nRUN ["echo", "$V"]\n');
    expect(rs[0]!.argv).toEqual(['/bin/sh', '-c', 'echo $V ${V:-x}']);
    expect(rs[1]!.argv).toEqual(['echo', '$V']);
  });

  it('unused build args are reported, proxies and predefined ones are not', () => {
    const c = compile('FROM scratch\nARG USED\n', {
      buildArgs: { USED: '1', UNUSED: '2', http_proxy: 'http://p', TARGETARCH: 'arm64' },
    });
    expect(c.warnings).toEqual(['build argument UNUSED was not consumed: no ARG declares it']);
    expect(c.ir?.proxyEnv).toEqual({ http_proxy: 'http://p' });
  });

  it('warns about undefined variables, not about declared-but-unset ARGs or defaults', () => {
    const c = compile(
      'FROM scratch\nARG DECLARED\nWORKDIR /$DECLARED/${MISSING:-x}/$TYPO_VAR\nENV TYPO_VAT=1\n',
    );
    expect(c.warnings).toEqual(['undefined variable "$TYPO_VAR" expands to an empty string']);
  });

  it('does not claim a variable is undefined when the base image config is unknown', () => {
    const c = compile('FROM debian\nWORKDIR $HOME/app\nENV PATH=/opt/bin:$PATH\nRUN x\n');
    expect(c.warnings).toEqual([
      '"$HOME" is not set by this Rootfile and the base image\'s config is not known when compiling: it expands to an empty string',
    ]);
    const st = lastStage(c.ir!).steps;
    expect(st[1]).toMatchObject({
      op: 'config',
      change: {
        field: 'Env',
        env: [['PATH', '/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']],
      },
    });
  });

  it('uses a resolved base config when the caller gives one', () => {
    const rs = runs('FROM golang:1.22\nENV PATH=/x:$PATH\nWORKDIR src\nRUN go version\n', {
      baseConfig: () => ({
        env: ['PATH=/usr/local/go/bin:/usr/bin', 'GOPATH=/go'],
        workingDir: '/go',
        user: 'gopher',
      }),
    });
    expect(envOf(rs[0]!)).toEqual({ PATH: '/x:/usr/local/go/bin:/usr/bin', GOPATH: '/go' });
    expect(rs[0]!.workdir).toBe('/go/src');
    expect(rs[0]!.user).toBe('gopher');
  });

  it('keeps the assumed PATH out of RUN when the base config is unknown', () => {
    const rs = runs('FROM debian\nRUN x\n');
    expect(rs[0]!.env).toEqual([]);
  });

  it('runs the ONBUILD triggers of an image base config', () => {
    const st = steps('FROM app-base\nRUN after\n', {
      baseConfig: () => ({ onBuild: ['RUN echo triggered', 'ENV FROM_TRIGGER=1'] }),
    });
    expect(st.map((s) => s.op)).toEqual(['run', 'config', 'run']);
    expect(st[0]!.location.file).toBe('<onbuild app-base #1>');
  });
});

describe('stages and targets', () => {
  it('orders needed stages after their dependencies and drops the rest', () => {
    const i = ir(
      'FROM scratch AS a\nFROM scratch AS b\nFROM scratch AS c\nCOPY --from=b /x /x\nFROM scratch AS d\n',
      {
        target: 'c',
      },
    );
    expect(i.stages.map((s) => s.id)).toEqual(['b', 'c']);
    expect(i.target).toBe('c');
  });

  it('names unnamed stages stage-<index> and resolves --from by index', () => {
    const i = ir('FROM scratch\nFROM scratch\nCOPY --from=0 /x /x\n');
    expect(i.stages.map((s) => s.id)).toEqual(['stage-0', 'stage-1']);
    expect(i.stages[1]!.dependsOn).toEqual(['stage-0']);
  });

  it('treats an unknown --from as an image unless it looks like a stage typo', () => {
    expect(steps('FROM scratch AS build\nFROM scratch\nCOPY --from=alpine /x /x\n')[0]).toMatchObject({
      from: { kind: 'image', ref: 'docker.io/library/alpine:latest' },
    });
    expect(compile('FROM scratch AS build\nFROM scratch\nCOPY --from=buil /x /x\n').errors).toEqual([
      'unknown stage "buil" (did you mean build?)',
    ]);
  });

  it('reports an unknown target with a suggestion', () => {
    const c = compile('FROM scratch AS release\n', { target: 'relese' });
    expect(c.errors).toEqual(['target stage "relese" could not be found (did you mean release?)']);
    expect(c.diagnostics[0]!.suggestion).toBe('release');
  });

  it('reports a cycle through COPY --from', () => {
    const c = compile('FROM scratch AS a\nCOPY --from=b /b /b\nFROM scratch AS b\nCOPY --from=a /a /a\n');
    expect(c.errors).toEqual(['circular dependency between stages: b → a → b']);
  });

  it('${V:?} fails only stages the target needs', () => {
    const text = 'FROM scratch AS dev\nFROM scratch AS rel\nARG V\nLABEL v=${V:?needed}\n';
    expect(compile(text, { target: 'dev' }).errors).toEqual([]);
    expect(compile(text).errors).toEqual(['V: needed']);
  });
});

describe('# check= directive', () => {
  it('skips the named warnings, or all of them', () => {
    const body = 'ARG G=1\nFROM scratch:$NOPE AS context\nWORKDIR /$MISSING\n';
    expect(compile(body).warnings.length).toBe(3);
    expect(compile(`# check=skip=UndefinedVar\n${body}`).warnings).toEqual([
      'FROM uses "$NOPE", which is not an ARG declared before the first FROM: it expands to an empty string',
      'stage name "context" is reserved by Docker',
    ]);
    expect(
      compile(`# check=skip=UndefinedVar,UndefinedArgInFrom,ReservedStageName\n${body}`).warnings,
    ).toEqual([]);
    expect(compile(`# check=skip=all;error=true\n${body}`).warnings).toEqual([]);
  });
});

describe('ONBUILD', () => {
  it('runs a stage’s triggers at the start of stages built FROM it, reporting a problem once', () => {
    const c = compile(
      'FROM scratch AS base\nONBUILD COPY --fromm=x a /a\nONBUILD RUN echo hi\nFROM base\nRUN after\n',
    );
    expect(c.errors).toEqual(['unknown flag --fromm for COPY (did you mean --from?)']);
    const st = steps('FROM scratch AS base\nONBUILD RUN echo hi\nFROM base\nRUN after\n');
    expect(st.map((s) => [s.op, s.location.line])).toEqual([
      ['run', 2],
      ['run', 4],
    ]);
  });
});

describe('stage ids', () => {
  it('keeps ids unique when a stage is named like an unnamed one', () => {
    const i = ir('FROM scratch AS stage-1\nFROM scratch\nCOPY --from=stage-1 /a /a\nCOPY --from=0 /b /b\n');
    expect(i.stages.map((s) => s.id)).toEqual(['stage-1', 'stage-1-unnamed']);
    expect(i.stages[1]!.dependsOn).toEqual(['stage-1']);
  });
});
