import { describe, expect, it } from 'vitest';
import { error, warning } from '../../src/diagnostics/diagnostic.js';
import { renderDiagnostic } from '../../src/diagnostics/render.js';
import { SourceText } from '../../src/diagnostics/source.js';

describe('SourceText', () => {
  const src = new SourceText('Rootfile', 'FROM scratch\r\nCOPPY a b\nRUN x');
  it('maps offsets to 1-based lines and columns across CRLF and LF', () => {
    expect(src.position(0)).toEqual({ offset: 0, line: 1, column: 1 });
    expect(src.position(14)).toEqual({ offset: 14, line: 2, column: 1 });
    expect(src.position(26)).toEqual({ offset: 26, line: 3, column: 3 });
    expect(src.lineText(2)).toBe('COPPY a b');
    expect(src.lineCount).toBe(3);
  });
});

describe('renderDiagnostic', () => {
  it('prints file:line:col, severity, message, the line and a caret under the range', () => {
    const text = 'FROM scratch\nCOPPY a b\n';
    const src = new SourceText('Rootfile', text);
    const d = error('syntax/unknown-instruction', 'unknown instruction "COPPY" (did you mean COPY?)', {
      file: 'Rootfile',
      range: src.range(13, 18),
    });
    expect(renderDiagnostic(d, { source: () => text })).toBe(
      'Rootfile:2:1: error: unknown instruction "COPPY" (did you mean COPY?)\n' +
        '  2 | COPPY a b\n' +
        '    | ^~~~~',
    );
  });
  it('renders a diagnostic without location', () => {
    expect(renderDiagnostic(warning('build/x', 'something odd'))).toBe('rootc: warning: something odd');
  });
});
