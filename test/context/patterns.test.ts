import { describe, expect, it } from 'vitest';
import { cleanPath, goMatch, PatternMatcher, parseIgnoreFile } from '../../src/context/patterns.js';

describe('goMatch (Go path.Match)', () => {
  it.each([
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abe', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a/b', false],
    ['*.txt', 'dir/x.txt', false],
    // A literal '-' outside a class (REMOVE /var/lib/dpkg/*-old): once compiled to an invalid `\-` escape.
    ['*-old', 'status-old', true],
    ['a\\-b', 'a-b', true],
    ['[\\-]', '-', true],
  ])('%s ~ %s → %s', (pattern, name, want) => {
    expect(goMatch(pattern, name)).toBe(want);
  });
  it('rejects malformed patterns', () => {
    expect(() => goMatch('[', 'a')).toThrow(/syntax error/);
    expect(() => goMatch('a\\', 'a')).toThrow(/syntax error/);
  });
});

describe('PatternMatcher (.dockerignore)', () => {
  const m = (patterns: string[], file: string) => new PatternMatcher(patterns).matches(file);
  it.each([
    [['*.md'], 'README.md', true],
    [['*.md'], 'docs/README.md', false],
    [['**/*.md'], 'docs/README.md', true],
    [['**/*.md'], 'README.md', true],
    [['node_modules'], 'node_modules/x/y.js', true],
    [['docs/**'], 'docs/a/b', true],
    [['*', '!keep'], 'keep', false],
    [['*', '!keep'], 'other', true],
    [['dir', '!dir/keep'], 'dir/keep', false],
    [['dir', '!dir/keep'], 'dir/drop', true],
    [['a/*/c'], 'a/b/c', true],
    [['a/*/c'], 'a/b/d/c', false],
  ])('%j excludes %s → %s', (patterns, file, want) => {
    expect(m(patterns, file)).toBe(want);
  });
});

describe('parseIgnoreFile', () => {
  it('drops comments and blanks, cleans paths and leading slashes', () => {
    expect(parseIgnoreFile('# c\n\n/foo/\n  ./bar//baz  \n! /keep\n')).toEqual(['foo', 'bar/baz', '!keep']);
  });
});

describe('cleanPath', () => {
  it('behaves like Go filepath.Clean', () => {
    expect(cleanPath('a/../../b')).toBe('../b');
    expect(cleanPath('/a/../../b')).toBe('/b');
    expect(cleanPath('./')).toBe('.');
  });
});
