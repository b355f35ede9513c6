// Which requests for a dead or protected link get the HTML page rather than problem+json
// (src/url/html.ts): the Accept header's weights are read, q=0 included (RFC 9110 §12.4.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wantsHtml } from '../../src/url/html.ts';

test('HTML for a browser; JSON for curl, an API client, and one that says q=0 to HTML or weighs JSON higher', () => {
  const cases: [string | undefined, boolean][] = [
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', true],
    ['application/xhtml+xml', true],
    ['TEXT/HTML; charset=utf-8', true],
    ['text/html;q=0.5, application/json;q=0.5', true],
    [undefined, false],
    ['*/*', false],
    ['application/json', false],
    ['application/problem+json, text/html;q=0.9', false],
    ['text/html;q=0, application/json', false],
    ['text/html;q=0', false],
    ['text/html;q=0.000', false],
    ['text/html;q=abc', false],
    ['text/html;q=1.5', false],
    ['text/htmlx', false],
  ];
  for (const [accept, html] of cases) assert.equal(wantsHtml(accept), html, String(accept));
});
