/**
 * Metadata steps (ENV, CMD, LABEL, …) applied to an image config: one pure function per IR ConfigChange,
 * with Docker's rules (ENV replaces a variable in place; ENTRYPOINT drops an inherited CMD; EXPOSE and
 * VOLUME add to the set).
 */
import type { ContainerConfig } from '../image/config.js';
import { type Image, withAnnotations, withContainerConfig, withImageFields } from '../image/image.js';
import type { ConfigChange } from '../lower/ir.js';

export function applyConfigChange(image: Image, change: ConfigChange): Image {
  const c = image.config.config;
  switch (change.field) {
    case 'Env': {
      const env = [...(c.Env ?? [])];
      for (const [key, value] of change.env) {
        const entry = `${key}=${value}`;
        const at = env.findIndex((e) => e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')) === key);
        if (at >= 0) env[at] = entry;
        else env.push(entry);
      }
      return withContainerConfig(image, { Env: env });
    }
    case 'Labels':
      return withContainerConfig(image, {
        Labels: { ...(c.Labels ?? {}), ...Object.fromEntries(change.labels) },
      });
    case 'Annotations':
      return withAnnotations(image, Object.fromEntries(change.annotations));
    case 'Cmd':
      return withContainerConfig(image, { Cmd: change.cmd });
    case 'Entrypoint': {
      const patch: Partial<ContainerConfig> = { Entrypoint: change.entrypoint ?? undefined };
      if (change.resetCmd) patch.Cmd = undefined;
      return withContainerConfig(image, patch);
    }
    case 'User':
      return withContainerConfig(image, { User: change.user });
    case 'ExposedPorts': {
      const ports = { ...(c.ExposedPorts ?? {}) };
      for (const p of change.ports) ports[p] = {};
      return withContainerConfig(image, { ExposedPorts: ports });
    }
    case 'Volumes': {
      const volumes = { ...(c.Volumes ?? {}) };
      for (const v of change.volumes) volumes[v] = {};
      return withContainerConfig(image, { Volumes: volumes });
    }
    case 'StopSignal':
      return withContainerConfig(image, { StopSignal: change.signal });
    case 'Shell':
      return withContainerConfig(image, { Shell: change.shell });
    case 'Healthcheck': {
      const h = change.healthcheck;
      return withContainerConfig(image, {
        Healthcheck: {
          Test: h.test,
          ...(h.interval !== undefined ? { Interval: h.interval } : {}),
          ...(h.timeout !== undefined ? { Timeout: h.timeout } : {}),
          ...(h.startPeriod !== undefined ? { StartPeriod: h.startPeriod } : {}),
          ...(h.startInterval !== undefined ? { StartInterval: h.startInterval } : {}),
          ...(h.retries !== undefined ? { Retries: h.retries } : {}),
        },
      });
    }
    case 'OnBuild':
      return withContainerConfig(image, { OnBuild: [...(c.OnBuild ?? []), change.trigger] });
    case 'Author':
      return withImageFields(image, { author: change.author });
  }
}

/** WORKDIR changes the config too (the step also creates the directory). */
export function withWorkingDir(image: Image, dir: string): Image {
  return withContainerConfig(image, { WorkingDir: dir });
}
