// The JSON body parser on bodies as deep as JSON.parse takes: the search for a lone surrogate must
// answer for any depth a body under the size limit can reach, not overflow the call stack (a 500).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../src/core/errors.ts';
import { parseJsonBody } from '../../src/core/json-body.ts';
import { BODY_LIMIT_BYTES } from '../../src/core/problem.ts';

/** What parseJsonBody reads of a request: its Content-Type and whether the route takes a body. */
const request = { headers: { 'content-type': 'application/json' }, routeOptions: {} } as unknown as FastifyRequest;

function parse(text: string): { error: Error | null; value?: unknown } {
  let answer: { error: Error | null; value?: unknown } | undefined;
  parseJsonBody(request, Buffer.from(text), (error, value) => {
    answer = { error, value };
  });
  assert.ok(answer, 'the parser answers at once');
  return answer;
}

const nestedArrays = (depth: number, inner: string): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
/** The deepest arrays a body under the limit can hold around a string of up to 14 bytes (`"\ud83d\ude00"`). */
const DEEPEST = Math.floor((BODY_LIMIT_BYTES - 14) / 2);

function assertLoneSurrogateRefused(text: string, what: string): void {
  const { error } = parse(text);
  assert.ok(error instanceof AppError, `${what}: ${String(error)}`);
  assert.equal(error.status, 400, what);
  assert.equal(error.code, 'invalid_request', what);
  assert.match(error.detail ?? '', /not half of a pair/, what);
}

test('a lone surrogate 5,000 arrays deep (10 KB) is refused as half a character, not a stack overflow', () => {
  const text = nestedArrays(5000, '"\\ud800"');
  assert.ok(text.length < 10_100);
  assertLoneSurrogateRefused(text, '5,000 deep');
  assertLoneSurrogateRefused(nestedArrays(DEEPEST, '"a\\udfffb"'), `${DEEPEST} deep`);
});

test('a lone surrogate in a key, deep inside arrays or objects, is refused too', () => {
  assertLoneSurrogateRefused(nestedArrays(5000, '{"\\ud800":1}'), 'a key under 5,000 arrays');
  const depth = 2500;
  assertLoneSurrogateRefused(`${'{"a":'.repeat(depth)}{"\\ud800":1}${'}'.repeat(depth)}`, 'a key under 2,500 objects');
});

test('a body as deep as the limit allows, with a surrogate pair and no lone half, is parsed', () => {
  const deepest = parse(nestedArrays(DEEPEST, '"\\ud83d\\ude00"'));
  assert.equal(deepest.error, null, String(deepest.error));
  let value = deepest.value;
  for (let depth = 0; depth < DEEPEST; depth++) {
    assert.ok(Array.isArray(value) && value.length === 1, `an array of one at depth ${depth}`);
    value = value[0];
  }
  assert.equal(value, '\u{1F600}');
  const withoutEscapes = parse(nestedArrays(5000, '"x"'));
  assert.equal(withoutEscapes.error, null, String(withoutEscapes.error));
});
