// `curt shorten --password` on a terminal (src/cli/password-input.ts): typed twice, not echoed; a
// password the server would refuse for its length is said after the first prompt, not after both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createPasswordReader, PasswordInputError } from '../../src/cli/password-input.ts';

/** A terminal: answers the prompts in turn, each once its question has been written. */
function terminal(answers: string[]) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin }) as unknown as NodeJS.ReadStream & PassThrough;
  const prompts: string[] = [];
  const stderr = new PassThrough();
  stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (!text.endsWith(': ')) return;
    prompts.push(text);
    const answer = answers.shift();
    if (answer !== undefined) setImmediate(() => stdin.write(`${answer}\r`));
  });
  return { stdin, stderr, prompts };
}

test('a password typed twice alike is read; two that differ are refused', async () => {
  const same = terminal(['correct horse', 'correct horse']);
  assert.equal(await createPasswordReader(same)('prompt'), 'correct horse');
  assert.deepEqual(same.prompts, ['Password for the link: ', 'Again: ']);
  const differ = terminal(['correct horse', 'correct house']);
  await assert.rejects(createPasswordReader(differ)('prompt'), (err: unknown) => err instanceof PasswordInputError && err.message === 'the two passwords differ');
});

test('a password too short or too long is refused after the first prompt, without asking for it again', async () => {
  for (const [typed, length] of [['hunter2', 7], ['x'.repeat(129), 129]] as const) {
    const tty = terminal([typed, typed]);
    await assert.rejects(
      createPasswordReader(tty)('prompt'),
      (err: unknown) => err instanceof PasswordInputError && err.message === `a link's password must be 8 to 128 characters (the one typed has ${length})`,
    );
    assert.deepEqual(tty.prompts, ['Password for the link: '], 'never asked again');
  }
});
