// Where `curt` reads a link's password from: the terminal, without echo (typed twice), or the first
// line of standard input (`--password-stdin`, for scripts: `pass show x | curt shorten URL --password-stdin`).
// Never argv: a command line is visible to every user (ps, /proc) and kept in shell history.
import type { Readable, Writable } from 'node:stream';
import { UsageError, type PasswordSource } from './args.ts';
// The server's own rule and count (code points after NFC); the module needs nothing of the server's.
import { passwordLength, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS } from '../url/link-password.ts';

/** Why the server would refuse this link password (its length, in characters as it counts them); null when it would not. */
function passwordProblem(password: string, source: PasswordSource): string | null {
  const length = passwordLength(password);
  if (length >= PASSWORD_MIN_CHARS && length <= PASSWORD_MAX_CHARS) return null;
  const which = source === 'stdin' ? 'read from standard input' : 'typed';
  return `a link's password must be ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters (the one ${which} has ${length})`;
}

export class PasswordInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordInputError';
  }
}

/** The first line of `input` (without its line end); the rest is not read. */
export async function firstLine(input: AsyncIterable<Uint8Array | string>): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text.includes('\n')) break;
  }
  const line = text.split('\n', 1)[0] ?? '';
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** One line typed on a terminal, not echoed. */
function askHidden(question: string, input: NodeJS.ReadStream, output: Writable): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(question);
    let typed = '';
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const done = (error: Error | null): void => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: string): void => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(new PasswordInputError('cancelled'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else typed += ch;
      }
    };
    input.on('data', onData);
  });
}

/**
 * Reads a link's password for `verb` (src/cli/commands.ts). A password the server would refuse is a
 * usage error (exit 2), found before any request: on a terminal as soon as it is typed the first
 * time, not after it was typed twice.
 */
export function createPasswordReader(io: { stdin: NodeJS.ReadStream & Readable; stderr: Writable }) {
  return async (source: PasswordSource, verb: string): Promise<string> => {
    const refuseIfTooShortOrLong = (password: string): void => {
      const problem = passwordProblem(password, source);
      if (problem !== null) throw new UsageError(problem, verb);
    };
    if (source === 'stdin') {
      const line = await firstLine(io.stdin);
      if (line === '') throw new PasswordInputError('--password-stdin read no password (an empty first line)');
      refuseIfTooShortOrLong(line);
      return line;
    }
    if (!io.stdin.isTTY) throw new PasswordInputError('--password asks on a terminal, and standard input is not one: use --password-stdin');
    const first = await askHidden('Password for the link: ', io.stdin, io.stderr);
    refuseIfTooShortOrLong(first);
    const again = await askHidden('Again: ', io.stdin, io.stderr);
    if (first !== again) throw new PasswordInputError('the two passwords differ');
    return first;
  };
}
