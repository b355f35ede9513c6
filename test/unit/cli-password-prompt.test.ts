// A link's password read by `curt` (src/cli/password-input.ts): on a terminal typed twice, not echoed,
// and one the server would refuse for its length said after the first prompt, not after both; from
// standard input its first line. A refused one is a usage error of the verb (exit 2), and nothing is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parseCommand, UsageError } from '../../src/cli/args.ts';
import { runClientCommand, type ClientCommand } from '../../src/cli/commands.ts';
import { createPasswordReader, PasswordInputError } from '../../src/cli/password-input.ts';
import { createCurtClient } from '../../src/client/curt-client.ts';

/** A terminal: answers the prompts in turn, each once its question has been written; `shown` is all it printed. */
function terminal(answers: string[]) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin }) as unknown as NodeJS.ReadStream & PassThrough;
  const prompts: string[] = [];
  let shown = '';
  const stderr = new PassThrough();
  stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    shown += text;
    if (!text.endsWith(': ')) return;
    prompts.push(text);
    const answer = answers.shift();
    if (answer !== undefined) setImmediate(() => stdin.write(`${answer}\r`));
  });
  return { stdin, stderr, prompts, shown: () => shown };
}

/** Standard input that is a pipe: `text`, then its end. */
function pipe(text: string) {
  const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream & PassThrough;
  stdin.end(text);
  return { stdin, stderr: new PassThrough() };
}

const refusedAs = (verb: string, message: RegExp) => (err: unknown) => err instanceof UsageError && err.verb === verb && message.test(err.message);

test('a password typed twice alike is read, never shown; two that differ are refused', async () => {
  const same = terminal(['correct horse', 'correct horse']);
  assert.equal(await createPasswordReader(same)('prompt', 'shorten'), 'correct horse');
  assert.deepEqual(same.prompts, ['Password for the link: ', 'Again: ']);
  assert.doesNotMatch(same.shown(), /correct|horse|\*/, 'not echoed, not even as stars');
  const differ = terminal(['correct horse', 'correct house']);
  await assert.rejects(createPasswordReader(differ)('prompt', 'shorten'), (err: unknown) => err instanceof PasswordInputError && err.message === 'the two passwords differ');
});

test('a password too short or too long is refused after the first prompt, without asking for it again', async () => {
  for (const [typed, length] of [['hunter2', 7], ['x'.repeat(129), 129]] as const) {
    const tty = terminal([typed, typed]);
    await assert.rejects(createPasswordReader(tty)('prompt', 'edit'), refusedAs('edit', new RegExp(`^a link's password must be 8 to 128 characters \\(the one typed has ${length}\\)$`)));
    assert.deepEqual(tty.prompts, ['Password for the link: '], 'never asked again');
  }
  // Counted as the server counts: code points (an emoji is one character).
  await assert.rejects(createPasswordReader(terminal(['🔑🔑🔑🔑🔑🔑🔑']))('prompt', 'shorten'), /\(the one typed has 7\)/);
});

test('a refused password stops the command before any request; eight characters from standard input are sent', async () => {
  const asked: string[] = [];
  const client = createCurtClient({
    baseUrl: 'http://cu.rt',
    fetch: async (input) => {
      asked.push(input instanceof Request ? input.url : String(input));
      return new Response('{}', { headers: { 'content-type': 'application/json' } });
    },
  });
  const run = (argv: string[], io: ReturnType<typeof pipe> | ReturnType<typeof terminal>) =>
    runClientCommand(parseCommand(argv) as ClientCommand, client, () => undefined, () => Date.now(), { readPassword: createPasswordReader(io) });
  await assert.rejects(
    run(['shorten', 'https://example.com', '--password-stdin'], pipe('hunter2\nthe rest\n')),
    refusedAs('shorten', /^a link's password must be 8 to 128 characters \(the one read from standard input has 7\)$/),
  );
  await assert.rejects(run(['edit', 'AbCdEf', '--password'], terminal(['short'])), refusedAs('edit', /\(the one typed has 5\)$/));
  assert.deepEqual(asked, []);
  await run(['shorten', 'https://example.com', '--password-stdin'], pipe('hunter22\n')).catch(() => undefined);
  assert.equal(asked.length, 1, 'eight characters are sent');
});
