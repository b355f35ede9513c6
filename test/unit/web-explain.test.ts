// What the web app tells a person when a call fails (src/web/api.ts, explain): the SDK's
// CurtUnreachableError is a connection or a timeout, said as such; an answer that is not Curt's JSON
// (NotCurtError) as the server's trouble or an unexpected answer; the alias cool-down's end as a
// date; refused tags under the Tags field, in words; without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CurtApiError, CurtUnreachableError, NotCurtError } from '../../src/client/curt-client.ts';
import { explain } from '../../src/web/api.ts';
import { formatDateTime } from '../../src/web/format.ts';
import { tagsProblem } from '../../src/web/tags.ts';

test('no answer from the server: "could not be reached" for a failed connection, "took too long" for a timeout', () => {
  assert.deepEqual(explain(new CurtUnreachableError('http://cu.rt', 'Failed to fetch', new TypeError('Failed to fetch'))), {
    field: 'form',
    message: 'The server could not be reached. Check your connection and try again.',
    code: null,
  });
  assert.deepEqual(explain(new CurtUnreachableError('http://cu.rt', 'timeout', undefined)), { field: 'form', message: 'The server took too long to answer. Try again.', code: null });
});

/** A problem document as the API sends one. */
const apiError = (status: number, code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new CurtApiError(status, { type: `https://curt.dev/problems/${code}`, title: 'Problem', status, code, detail, ...extensions }, null);

test("an answer that is not Curt's JSON (a proxy's 502 page, another server's 404): a sentence for people, not the SDK's", () => {
  assert.deepEqual(explain(new NotCurtError(502, 'text/html; charset=utf-8')), {
    field: 'form',
    message: 'The server could not do this just now (it answered HTTP 502). Try again in a moment.',
    code: null,
  });
  const unexpected = explain(new NotCurtError(404, 'text/html'));
  assert.equal(unexpected.field, 'form');
  assert.match(unexpected.message, /^The server answered something unexpected \(HTTP 404\)/);
  for (const error of [new NotCurtError(502, 'text/html'), new NotCurtError(404, 'text/html'), new NotCurtError(200, null)]) {
    assert.doesNotMatch(explain(error).message, /Curt's JSON|content type|text\/html/, 'no SDK words');
  }
});

test('the alias cool-down: its end as the app shows dates, from the problem\'s available_at, never as an ISO instant', () => {
  const at = '2027-01-06T12:30:06.048Z';
  const detail = `"bulk17" belonged to a deleted link; it can be used again from ${at}.`;
  const shown = formatDateTime(at);
  const { field, message } = explain(apiError(409, 'alias_cooling_down', detail, { available_at: at }));
  assert.equal(field, 'alias');
  assert.equal(message, `"bulk17" belonged to a deleted link; it can be used again from ${shown}. Choose another alias until then.`);
  assert.doesNotMatch(message, /\d{4}-\d{2}-\d{2}T/);
  // Without the member, the instant the sentence names; with a member but a detail of other words, added to it.
  assert.equal(explain(apiError(409, 'alias_cooling_down', detail)).message, message);
  assert.equal(
    explain(apiError(409, 'alias_cooling_down', '"bulk17" belonged to a deleted link.', { available_at: at })).message,
    `"bulk17" belonged to a deleted link. It can be used again from ${shown}. Choose another alias until then.`,
  );
});

test('tags the API refuses: under the Tags field, in words, naming the tag sent', () => {
  const bad = explain(apiError(400, 'invalid_request', 'tags[1] has characters or a form that is not allowed.'), { tags: ['good', 'b@d!'] });
  assert.deepEqual(bad, { field: 'tags', message: 'The tag "b@d!" has characters a tag cannot have: 1 to 32 of letters, digits and - _ . : /', code: 'invalid_request' });
  assert.deepEqual(explain(apiError(400, 'invalid_request', 'tags must have at most 20 items.')), { field: 'tags', message: 'At most 20 tags.', code: 'invalid_request' });
  assert.deepEqual(explain(apiError(400, 'invalid_request', 'tags: at most 20 tags (got 21).')), { field: 'tags', message: 'At most 20 tags.', code: 'invalid_request' });
  assert.equal(explain(apiError(400, 'invalid_request', 'tags: "b@d!" is not a tag: 1 to 32 of letters, digits and - _ . : /')).message, bad.message);
  assert.equal(explain(apiError(400, 'invalid_request', 'tags[0] must be at most 32 characters.'), { tags: ['x'.repeat(33)] }).message, `The tag "${'x'.repeat(33)}" is too long: a tag is 1 to 32 of letters, digits and - _ . : /.`);
  // Not knowing what was sent, the tag by its place.
  assert.equal(explain(apiError(400, 'invalid_request', 'tags[1] has characters or a form that is not allowed.')).message, 'Tag 2 has characters a tag cannot have: 1 to 32 of letters, digits and - _ . : /');
  // The form's own check says the same before sending.
  assert.equal(tagsProblem(['good', 'b@d!']), bad.message);
  assert.equal(tagsProblem(Array.from({ length: 21 }, (_, i) => `t${i}`)), 'At most 20 tags.');
  assert.equal(tagsProblem(['Promo', 'promo', ...Array.from({ length: 19 }, (_, i) => `t${i}`)]), null, 'one tag in two letter cases counts once');
  assert.equal(tagsProblem(['good', 'a:b/c-d_e.f']), null);
});
