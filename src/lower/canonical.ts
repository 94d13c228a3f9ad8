/**
 * Canonical forms of IR steps and bases: the part of a cache key that comes from the Rootfile.
 * Sorted keys, no location, no undefined members: the same step always gives the same bytes, and
 * moving an instruction to another line (or file) does not change its key.
 */
import { createHash } from 'node:crypto';
import type { Base, Step } from './ir.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function canonicalize(value: unknown): Json {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonicalize(v)));
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined || typeof v === 'function') continue;
      out[key] = canonicalize(v);
    }
    return out;
  }
  return null;
}

/** The step as canonical JSON: keys sorted at every level, `location` left out. */
export function canonicalStepJson(step: Step): string {
  const { location: _location, ...rest } = step;
  return JSON.stringify(canonicalize(rest));
}

/** The base of a stage as canonical JSON. */
export function canonicalBaseJson(base: Base): string {
  return JSON.stringify(canonicalize(base));
}

function sha256(parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    // Length-prefixed so that no two different part lists hash the same bytes.
    h.update(`${Buffer.byteLength(p)}:`);
    h.update(p);
  }
  return h.digest('hex');
}

/**
 * Cache key of a step: sha256 over the parent's key, the canonical step and the digests of the
 * step's inputs (context files, a source stage's result, a downloaded URL…), in the order given.
 */
export function stepCacheKey(parentKey: string, step: Step, inputDigests: readonly string[]): string {
  return sha256([
    'rootc-step/v1',
    parentKey,
    canonicalStepJson(step),
    String(inputDigests.length),
    ...inputDigests,
  ]);
}

/** Cache key of a stage's base: its canonical form and the digests of what it was made from. */
export function baseCacheKey(base: Base, inputDigests: readonly string[]): string {
  return sha256(['rootc-base/v1', canonicalBaseJson(base), String(inputDigests.length), ...inputDigests]);
}
