import { describe, expect, it } from 'vitest';
import { parseOutputSpec } from '../../src/build/outputs.js';

describe('parseOutputSpec', () => {
  it('parses BuildKit-style CSV', () => {
    expect(parseOutputSpec('type=docker,dest=out/img.tar')).toEqual({
      type: 'docker',
      dest: 'out/img.tar',
      attrs: { type: 'docker', dest: 'out/img.tar' },
    });
    expect(parseOutputSpec('type=oci,dest="a,b",compression=zstd').attrs).toEqual({
      type: 'oci',
      dest: 'a,b',
      compression: 'zstd',
    });
  });
  it('takes a bare .tar path as a rootfs output', () => {
    expect(parseOutputSpec('root.tar').type).toBe('rootfs');
  });
  it.each([
    ['type=zip,dest=x', /invalid --output type "zip"/],
    ['type=docker', /needs dest=/],
    ['type=registry', /needs name=/],
    ['dest=x', /missing type=/],
    ['out/dir', /expected type=/],
    ['type="docker,dest=x', /unterminated quote/],
  ])('rejects %s', (text, err) => {
    expect(() => parseOutputSpec(text)).toThrow(err);
  });
});
