import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { isReservedCode, RESERVED_WORDS } from '../../src/core/reserved.ts';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

test('generated codes have the configured length and only alphabet characters', () => {
  const generator = createCodeGenerator({ length: 6, alphabet: LETTERS });
  for (const code of generator.generate(10_000)) {
    assert.equal(code.length, 6);
    assert.match(code, /^[a-zA-Z]{6}$/);
  }
  const digits = createCodeGenerator({ length: 8, alphabet: '0123456789' });
  for (const code of digits.generate(1000)) assert.match(code, /^[0-9]{8}$/);
});

test('a reserved word is never generated, in any letter case', () => {
  // Alphabet of exactly the letters of "health" in both cases: 12^6 ≈ 3M codes, 64 of them spell "health".
  const generator = createCodeGenerator({ length: 6, alphabet: 'healtHEALT' });
  // Force a reserved word through the random source: every draw picks index 0..5 to spell h-e-a-l-t-h.
  const spell = [0, 1, 2, 3, 4, 0]; // h e a l t h
  let i = 0;
  const rigged = createCodeGenerator({ length: 6, alphabet: 'healtHEALT' }, (buffer) => {
    for (let j = 0; j < buffer.length; j++) buffer[j] = i < 6 ? (spell[i++ % 6] as number) : 7 + (j % 3);
    return buffer;
  });
  const [first] = rigged.generate(1);
  assert.notEqual(first?.toLowerCase(), 'health', 'the rigged first draw spelling "health" must be rejected');
  for (const code of generator.generate(50_000)) assert.equal(isReservedCode(code), false, code);
  assert.equal(generator.produces('HeAlTh'), false);
  assert.equal(generator.produces('tealth'), true);
});

test('isReservedCode matches every reserved word in any case', () => {
  for (const word of RESERVED_WORDS) {
    assert.equal(isReservedCode(word), true);
    assert.equal(isReservedCode(word.toUpperCase()), true);
  }
  assert.equal(isReservedCode('Metrics'), true);
  assert.equal(isReservedCode('abcdef'), false);
});

test('characters are uniformly distributed (chi-square within tolerance)', () => {
  const alphabet = LETTERS; // 52: not a power of two, so modulo bias would show
  const generator = createCodeGenerator({ length: 10, alphabet });
  const counts = new Map<string, number>();
  let total = 0;
  for (const code of generator.generate(52_000)) {
    for (const ch of code) {
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
      total++;
    }
  }
  const expected = total / alphabet.length;
  let chi2 = 0;
  for (const ch of alphabet) chi2 += ((counts.get(ch) ?? 0) - expected) ** 2 / expected;
  // 51 degrees of freedom: the 99.99th percentile is about 100. A biased `byte % 52` draw scores in the hundreds here.
  assert.ok(chi2 < 100, `chi-square ${chi2.toFixed(1)} too high for a uniform draw`);
});

test('a modulo-biased generator would fail the same chi-square check', () => {
  // Guards the test above: it must be able to fail.
  const alphabet = LETTERS;
  const counts = new Array<number>(alphabet.length).fill(0);
  const bytes = new Uint8Array(520_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  for (const b of bytes) counts[b % alphabet.length] = (counts[b % alphabet.length] as number) + 1;
  const expected = bytes.length / alphabet.length;
  const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 > 100, `biased chi-square ${chi2.toFixed(1)}`);
});

test('codeAt enumerates the whole space without repeats', () => {
  const generator = createCodeGenerator({ length: 4, alphabet: 'abc' });
  const all = new Set<string>();
  for (let i = 0; i < generator.spaceSize; i++) all.add(generator.codeAt(i));
  assert.equal(generator.spaceSize, 81);
  assert.equal(all.size, 81);
});
