import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHighlighter } from 'shiki';
import { expect, it } from 'vitest';
import { tempDir } from '../support/index.js';
import { GRAMMAR_FILE, shellGrammar } from './tokenize.js';

const sample = `# syntax=docker/dockerfile:1
# the base image
ARG BASE=debian:12
FROM \${BASE} AS build
RUN --mount=type=cache,target=/var/cache apt-get update && apt-get install -y gcc
COPY --from=build --deps /usr/bin/app /app
RUN <<EOF
echo "hello"
EOF
REMOVE /usr/share/doc
CMD ["/app"]
`;

it('renders a Rootfile to HTML with shiki, colored by the grammar', async () => {
  const grammar = JSON.parse(readFileSync(GRAMMAR_FILE, 'utf8'));
  const highlighter = await createHighlighter({
    themes: ['github-light'],
    langs: [
      { ...(await shellGrammar()), name: 'shellscript' },
      { ...grammar, name: 'rootfile', embeddedLangs: ['shellscript'] },
    ],
  });
  const html = highlighter.codeToHtml(sample, { lang: 'rootfile', theme: 'github-light' });
  writeFileSync(path.join(await tempDir('shiki'), 'sample.html'), html);

  // Keywords in github-light's keyword color, comments in its comment color, strings in its string color.
  const theme = highlighter.getTheme('github-light');
  const color = (scope: string) =>
    theme.settings.find((s) => [s.scope ?? []].flat().includes(scope))?.settings.foreground?.toUpperCase();
  const keyword = color('keyword')!;
  const comment = color('comment')!;
  const str = color('string')!;
  const span = (c: string, text: string) => new RegExp(`<span style="color:${c}"[^>]*>${text}</span>`, 'i');
  expect(html).toMatch(/^<pre class="shiki github-light"/);
  for (const kw of ['ARG', 'FROM', 'RUN', 'COPY', 'REMOVE', 'CMD']) expect(html).toMatch(span(keyword, kw));
  expect(html).toMatch(span(comment, '# the base image'));
  expect(html).toMatch(span(str, '(&#x22;|")/app(&#x22;|")'));
  // The RUN heredoc body is highlighted as shell: `echo` is colored on its own, not plain text.
  expect(html).not.toMatch(/>echo "hello"</);
  expect(html).toMatch(/>echo</);
});
