// What the web app tells a person when a call fails (src/web/api.ts, explain): the SDK's
// CurtUnreachableError is a connection or a timeout, said as such; without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CurtUnreachableError } from '../../src/client/curt-client.ts';
import { explain } from '../../src/web/api.ts';

test('no answer from the server: "could not be reached" for a failed connection, "took too long" for a timeout', () => {
  assert.deepEqual(explain(new CurtUnreachableError('http://cu.rt', 'Failed to fetch', new TypeError('Failed to fetch'))), {
    field: 'form',
    message: 'The server could not be reached. Check your connection and try again.',
    code: null,
  });
  assert.deepEqual(explain(new CurtUnreachableError('http://cu.rt', 'timeout', undefined)), { field: 'form', message: 'The server took too long to answer. Try again.', code: null });
});
