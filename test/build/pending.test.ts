import { describe, expect, it } from 'vitest';
import { applyConfigChange, withWorkingDir } from '../../src/build/config.js';
import { LayerQueue, PendingImage } from '../../src/build/pending.js';
import { appendHistory, appendLayer, emptyImage } from '../../src/image/image.js';
import type { Layer } from '../../src/image/layer.js';

const layer = (n: number): Layer => ({
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  diffId: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: n * 100,
  mediaType: 'application/vnd.oci.image.layer.v1.tar',
});
const later = <T>(value: T, ms: number) => new Promise<T>((r) => setTimeout(() => r(value), ms));

describe('LayerQueue', () => {
  it('runs one job at a time, in the order added, and goes on after a failure', async () => {
    const q = new LayerQueue();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const job =
      (name: string, ms: number, fail = false) =>
      async () => {
        running++;
        most = Math.max(most, running);
        log.push(`start ${name}`);
        await later(null, ms);
        log.push(`end ${name}`);
        running--;
        if (fail) throw new Error(`${name} failed`);
        return name;
      };
    const a = q.add(job('a', 20));
    const b = q.add(job('b', 1, true));
    const c = q.add(job('c', 5));
    await expect(a).resolves.toBe('a');
    await expect(b).rejects.toThrow('b failed');
    await expect(c).resolves.toBe('c');
    await q.settled();
    expect(most).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('settles only when the last job has ended', async () => {
    const q = new LayerQueue();
    let done = false;
    q.add(async () => {
      await later(null, 20);
      done = true;
    });
    await q.settled();
    expect(done).toBe(true);
  });
});

describe('PendingImage', () => {
  it('gives the image a step-by-step fold gives, whatever order the layers finish in', async () => {
    const base = appendLayer(emptyImage(), layer(1), { created_by: 'FROM' });
    const h = (s: string) => ({ created_by: s, created: 0 });
    // The steps of a stage: a layer still being made (slow), ENV, a cached layer, a made layer (fast),
    // WORKDIR (config only), a step that changed nothing.
    const p = new PendingImage(base);
    p.appendPending(later(layer(2), 30), h('COPY a'));
    p.change((i) => applyConfigChange(i, { field: 'Env', env: [['A', '1']] }));
    p.appendHistory(h('ENV A=1'));
    p.appendLayer(layer(3), h('COPY b (cached)'));
    p.appendPending(later(layer(4), 1), h('RUN x'));
    p.change((i) => withWorkingDir(i, '/w'));
    p.appendPending(later(undefined, 1), h('RUN true'));
    // What RUN and COPY read is there at once.
    expect(p.peek().config.config.Env).toContain('A=1');
    expect(p.peek().config.config.WorkingDir).toBe('/w');
    expect(p.peek().layers).toHaveLength(1);

    let want = appendLayer(base, layer(2), h('COPY a'));
    want = appendHistory(applyConfigChange(want, { field: 'Env', env: [['A', '1']] }), h('ENV A=1'));
    want = appendLayer(want, layer(3), h('COPY b (cached)'));
    want = appendLayer(want, layer(4), h('RUN x'));
    want = appendHistory(withWorkingDir(want, '/w'), h('RUN true'));
    const got = await p.resolve();
    expect(got).toEqual(want);
    expect(got.layers.map((l) => l.size)).toEqual([100, 200, 300, 400]);
    // Appends after a resolve go straight on.
    p.appendLayer(layer(5), h('COPY c'));
    expect((await p.resolve()).layers).toHaveLength(5);
  });

  it('reports the first failed layer at the next step and from resolve', async () => {
    const p = new PendingImage(emptyImage());
    p.appendPending(Promise.reject(new Error('disk full')), { created_by: 'COPY a' });
    p.appendPending(Promise.reject(new Error('second')), { created_by: 'COPY b' });
    await later(null, 1);
    expect(() => p.throwIfFailed()).toThrow('disk full');
    await expect(p.resolve()).rejects.toThrow('disk full');
  });

  it('does not fail before a pending layer has failed', () => {
    const p = new PendingImage(emptyImage());
    p.appendPending(new Promise(() => {}), { created_by: 'COPY a' });
    expect(() => p.throwIfFailed()).not.toThrow();
  });
});
