import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toAppError, problemBody } from '../../src/core/problem.ts';
import { Conflict, DependencyDown } from '../../src/core/errors.ts';

test('domain errors keep their status, code and headers', () => {
  const error = toAppError(new DependencyDown('postgres', 'PostgreSQL is down.', 2));
  assert.equal(error.status, 503);
  assert.equal(error.code, 'postgres_unavailable');
  assert.equal(error.headers['retry-after'], '2');
  const body = problemBody(new Conflict('alias_taken', 'taken'), 'req-1');
  assert.deepEqual(body, { type: 'urn:curt:problem:alias_taken', title: 'Conflict', status: 409, code: 'alias_taken', detail: 'taken', request_id: 'req-1' });
});

test('an unknown error becomes a 500 that reveals nothing', () => {
  const error = toAppError(new Error('connection string postgres://admin:hunter2@db failed at line 42'));
  assert.equal(error.status, 500);
  assert.equal(error.code, 'internal_error');
  assert.ok(!JSON.stringify(problemBody(error)).includes('hunter2'));
});

test("Fastify's client errors map to 413, 415 and 400", () => {
  const make = (code: string, statusCode: number) => Object.assign(new Error(code), { code, statusCode });
  assert.equal(toAppError(make('FST_ERR_CTP_BODY_TOO_LARGE', 413)).status, 413);
  assert.equal(toAppError(make('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).status, 415);
  assert.equal(toAppError(make('FST_ERR_CTP_EMPTY_JSON_BODY', 400)).code, 'malformed_json');
  assert.equal(toAppError(Object.assign(new Error('body/url must be string'), { validation: [{}], statusCode: 400 })).code, 'invalid_request');
});
