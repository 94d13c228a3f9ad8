/** The stage graph: which stages a target needs, and an order where each comes after its dependencies. */

export interface GraphStage {
  id: string;
  deps: readonly string[];
}

export type OrderResult = { ok: true; order: string[] } | { ok: false; cycle: string[] };

/**
 * The stages `target` needs (itself included), dependencies first; among independent stages the
 * Rootfile's order is kept. A cycle (possible through `COPY --from` of a later stage) is reported.
 */
export function stagesFor(target: string, stages: readonly GraphStage[]): OrderResult {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const st = state.get(id);
    if (st === 'done') return undefined;
    if (st === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    const deps = [...(byId.get(id)?.deps ?? [])].sort(
      (a, b) => stages.findIndex((s) => s.id === a) - stages.findIndex((s) => s.id === b),
    );
    for (const dep of deps) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    order.push(id);
    return undefined;
  };
  const cycle = visit(target);
  if (cycle) return { ok: false, cycle };
  return { ok: true, order };
}
