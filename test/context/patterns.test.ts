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

  it('decides in a walk, from the parent directory results, exactly as matches() decides from scratch', () => {
    const patternSets = [
      ['*.md'],
      ['**/*.md', '!docs/keep.md'],
      ['dir', '!dir/keep', 'dir/keep/tmp'],
      ['a/*/c', '!a/b'],
      ['*', '!keep', 'keep/x*'],
      ['node_modules', '**/dist/**'],
      ['docs/**', '!docs/a'],
    ];
    const paths = [
      'README.md',
      'docs',
      'docs/README.md',
      'docs/keep.md',
      'docs/a',
      'docs/a/b',
      'docs/a/b/c.md',
      'dir',
      'dir/drop',
      'dir/keep',
      'dir/keep/file',
      'dir/keep/tmp',
      'dir/keep/tmp/x',
      'a',
      'a/b',
      'a/b/c',
      'a/b/d/c',
      'keep',
      'keep/xy',
      'keep/y',
      'other',
      'node_modules/x/y.js',
      'src/dist/out/z.js',
    ];
    let checked = 0;
    for (const patterns of patternSets) {
      const matcher = new PatternMatcher(patterns);
      for (const file of paths) {
        const slash = file.lastIndexOf('/');
        const parent = matcher.matchInfoOfPath(slash < 0 ? '' : file.slice(0, slash));
        expect(matcher.excludedBy(matcher.matchInfo(file, parent)), `${patterns} ${file}`).toBe(
          matcher.matches(file),
        );
        checked++;
      }
    }
    expect(checked).toBe(patternSets.length * paths.length);
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
