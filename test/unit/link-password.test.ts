// Link passwords: scrypt at the stated parameters in a PHC-like string, a fresh salt per hash,
// constant-time verification, and the length rule (8..128 characters, counted as people count them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { firstLine } from '../../src/cli/password-input.ts';
import { parseCommand, UsageError } from '../../src/cli/args.ts';
import { hashLinkPassword, isAcceptablePassword, passwordLength, SCRYPT_PARAMS, verifyLinkPassword } from '../../src/url/link-password.ts';
import { passwordFromAuthorization } from '../../src/url/routes/redirect.ts';
import { basicAuthorization } from '../../src/client/curt-client.ts';

test('a hash is scrypt N=2^15, r=8, p=1 with a 16-byte salt and a 32-byte key, as a PHC string; the same password hashes differently each time', async () => {
  assert.deepEqual(SCRYPT_PARAMS, { logN: 15, r: 8, p: 1 });
  const [a, b] = await Promise.all([hashLinkPassword('correct horse'), hashLinkPassword('correct horse')]);
  const match = /^\$scrypt\$ln=15,r=8,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(a);
  assert.ok(match, a);
  assert.equal(Buffer.from(match[1] ?? '', 'base64').length, 16);
  assert.equal(Buffer.from(match[2] ?? '', 'base64').length, 32);
  assert.notEqual(a, b, 'a random salt each time');
  assert.doesNotMatch(a, /correct|horse/);
});

test('verify: the right password is true; a wrong, empty, very long or almost-right one false', async () => {
  const stored = await hashLinkPassword('open sesame 🔑');
  assert.equal(await verifyLinkPassword('open sesame 🔑', stored), true);
  for (const wrong of ['open sesame', 'Open sesame 🔑', 'open sesame 🔑 ', '', 'x'.repeat(100_000), 'open sesame 🔑'.repeat(10)]) {
    assert.equal(await verifyLinkPassword(wrong, stored), false, JSON.stringify(wrong.slice(0, 20)));
  }
});

test('a password is the same in composed and decomposed Unicode (NFC), and its length is counted in characters', async () => {
  const composed = 'caf\u00e9 cr\u00e8me';
  const decomposed = 'cafe\u0301 cre\u0300me';
  assert.equal(await verifyLinkPassword(decomposed, await hashLinkPassword(composed)), true);
  assert.equal(passwordLength('🔑🔑🔑🔑🔑🔑🔑🔑'), 8);
  assert.equal(isAcceptablePassword('🔑🔑🔑🔑🔑🔑🔑🔑'), true);
  assert.equal(isAcceptablePassword('1234567'), false);
  assert.equal(isAcceptablePassword('x'.repeat(128)), true);
  assert.equal(isAcceptablePassword('x'.repeat(129)), false);
  await assert.rejects(hashLinkPassword('short'), RangeError);
  await assert.rejects(hashLinkPassword('x'.repeat(129)), RangeError);
});

test('a stored string that is not ours, or asks for too much work, is an error rather than a "no"', async () => {
  await assert.rejects(verifyLinkPassword('whatever password', 'plain text'), /not a scrypt PHC string/);
  await assert.rejects(verifyLinkPassword('whatever password', '$scrypt$ln=30,r=8,p=1$AAAA$AAAA'), /out of bounds/);
});

test('hashing runs off the event loop: timers keep firing while hashes run', async () => {
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 5);
  await Promise.all([hashLinkPassword('password one'), hashLinkPassword('password two')]);
  clearInterval(timer);
  assert.ok(ticks >= 3, `the loop ran ${ticks} times meanwhile`);
});

test('Basic: any user name, the password after the first colon, UTF-8; anything else is no password', () => {
  assert.equal(passwordFromAuthorization(basicAuthorization('open: sesame 🔑')), 'open: sesame 🔑');
  assert.equal(passwordFromAuthorization(`Basic ${Buffer.from('alice:pa:ss word').toString('base64')}`), 'pa:ss word');
  assert.equal(passwordFromAuthorization(`basic   ${Buffer.from(':x').toString('base64')}`), 'x');
  for (const header of [undefined, '', 'Bearer curt_abc', 'Basic', 'Basic !!!', `Basic ${Buffer.from('no colon').toString('base64')}`]) {
    assert.equal(passwordFromAuthorization(header), null, String(header));
  }
});

test('curt reads a password from a prompt or standard input, never from the command line', () => {
  assert.equal((parseCommand(['shorten', 'https://example.com', '--password']) as { password?: string }).password, 'prompt');
  assert.equal((parseCommand(['shorten', 'https://example.com', '--password-stdin']) as { password?: string }).password, 'stdin');
  assert.equal((parseCommand(['edit', 'abc', '--no-password']) as { password?: string }).password, 'remove');
  assert.equal((parseCommand(['edit', 'abc', '--password-stdin']) as { password?: string }).password, 'stdin');
  const refused = (argv: string[], message: RegExp) =>
    assert.throws(() => parseCommand(argv), (err: unknown) => err instanceof UsageError && message.test(err.message), argv.join(' '));
  refused(['shorten', 'https://example.com', '--password=hunter22'], /--password takes no value/);
  refused(['shorten', 'https://example.com', '--password', 'hunter22'], /--password takes no value/);
  refused(['edit', 'abc', '--password', 'hunter22'], /--password takes no value/);
  refused(['shorten', 'https://example.com', '--password', '--password-stdin'], /not both/);
  refused(['edit', 'abc', '--password-stdin', '--no-password'], /give one of/);
  refused(['shorten', 'https://example.com', '--no-password'], /shorten does not take --no-password/);
});

test('--password-stdin takes the first line, without its line end', async () => {
  assert.equal(await firstLine(Readable.from(['open ses', 'ame\r\nsecond line\n'])), 'open sesame');
  assert.equal(await firstLine(Readable.from([Buffer.from('no newline 🔑')])), 'no newline 🔑');
});
