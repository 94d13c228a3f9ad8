/**
 * Docker image references, normalized as distribution/reference's ParseNormalizedNamed + TagNameOnly:
 * `debian` → `docker.io/library/debian:latest`. Pure string work.
 */
import type { Checked } from './values.js';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::\d+)?$|^\[[0-9a-fA-F:]+\](?::\d+)?$/;

export function normalizeImageRef(text: string): Checked<string> {
  const bad = (why: string): Checked<string> => ({
    ok: false,
    message: `invalid image reference "${text}": ${why}`,
  });
  if (text === '') return bad('empty');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return bad(`bad digest "${digest}"`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return bad(`bad tag "${tag}"`);
  }
  let domain = 'docker.io';
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN.test(domain)) return bad(`bad registry host "${domain}"`);
    }
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (path !== path.toLowerCase()) return bad('repository name must be lowercase');
  if (path === '' || !path.split('/').every((c) => COMPONENT.test(c))) return bad('bad repository name');
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  let out = `${domain}/${path}`;
  if (tag !== undefined) out += `:${tag}`;
  if (digest !== undefined) out += `@${digest}`;
  if (tag === undefined && digest === undefined) out += ':latest';
  return { ok: true, value: out };
}
