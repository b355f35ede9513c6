// The `curt` command (bin/curt.mjs runs this): one entry point for the servers and the client verbs.
// Server verbs start the services' own entry points; client verbs go through the SDK.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createCurtClient } from '../client/curt-client.ts';
import { ConfigError, loadCliConfig, type Env } from '../core/config.ts';
import { parseCommand, UsageError, type Command } from './args.ts';
import { describeFailure, openImportFile, recogniseListener, runClientCommand, type ClientCommand } from './commands.ts';
import { GENERAL_HELP, helpFor } from './help.ts';
import { createPasswordReader, PasswordInputError } from './password-input.ts';

const out = (text: string): void => void process.stdout.write(`${text}\n`);
const err = (text: string): void => void process.stderr.write(`${text}\n`);

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const usageLine = (error: UsageError): string => `curt: ${error.message} (see \`curt ${error.verb === null ? '' : `${error.verb} `}--help\`)`;

/** Resolves to the exit code, or to null for a server, which runs until it is stopped. */
async function main(argv: string[], env: Env): Promise<number | null> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (argv.length === 0) {
      err(GENERAL_HELP);
      return 2;
    }
    err(usageLine(error));
    return 2;
  }
  switch (command.verb) {
    case 'help': {
      const text = helpFor(command.topic);
      if (text === null) {
        err(`curt: no help on "${command.topic ?? ''}" (see \`curt --help\`)`);
        return 2;
      }
      out(text);
      return 0;
    }
    case 'version':
      out(version());
      return 0;
    case 'serve': {
      const { serve } = await import('../serve/main.ts');
      await serve({ ...env, ...command.env }, (text) => void process.stdout.write(text));
      return null;
    }
    // The services' entry points read their configuration and start when imported.
    case 'kgs':
      await import('../kgs/main.ts');
      return null;
    case 'url-service':
      await import('../url/main.ts');
      return null;
    case 'migrate':
      await import('../url/migrate-main.ts');
      return null;
    default:
      return runClient(command, env);
  }
}

async function runClient(command: ClientCommand, env: Env): Promise<number> {
  let config: ReturnType<typeof loadCliConfig>;
  try {
    config = loadCliConfig({
      ...env,
      ...(command.client.server === undefined ? {} : { CURT_SERVER: command.client.server }),
      ...(command.client.apiKey === undefined ? {} : { CURT_API_KEY: command.client.apiKey }),
    });
  } catch (error) {
    // A server address that is no URL, a key no header can carry: wrong usage (exit 2), found before
    // any request; named as the user gave it, the flag or the variable.
    if (!(error instanceof ConfigError)) throw error;
    const server = command.client.server === undefined ? 'CURT_SERVER' : '--server';
    const apiKey = command.client.apiKey === undefined ? 'CURT_API_KEY' : '--api-key';
    for (const problem of error.problems) err(`curt: ${problem.replace(/^Invalid configuration: /, '').replace(/^CURT_SERVER\b/, server).replace(/^CURT_API_KEY\b/, apiKey)}`);
    return 2;
  }
  // Standard output that fails ends the command with one line, not Node's unhandled 'error' and its
  // stack: a reader that went away (`curt export | head`) had what it wanted; a full disk did not.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    err(`curt: cannot write to standard output (${error.code === 'ENOSPC' ? 'no space left on the device' : error.message})`);
    process.exit(1);
  });
  const { server, apiKey } = config;
  const client = createCurtClient({ baseUrl: server, ...(apiKey === null ? {} : { apiKey }) });
  try {
    // The export goes out as it arrives, at the pace stdout takes it.
    const write = (chunk: string | Uint8Array): Promise<void> => new Promise<void>((resolve) => (process.stdout.write(chunk) ? resolve() : process.stdout.once('drain', () => resolve())));
    return await runClientCommand(command, client, out, Date.now, {
      write,
      writeBytes: write,
      stdoutIsTerminal: process.stdout.isTTY === true,
      saveFile: (path, bytes) => writeFile(path, bytes),
      open: (file) => openImportFile(file, process.stdin),
      readPassword: createPasswordReader({ stdin: process.stdin, stderr: process.stderr }),
    });
  } catch (error) {
    if (error instanceof PasswordInputError) {
      err(`curt: ${error.message}`);
      return 2;
    }
    // A file `curt import` cannot read: a mistake on the command line, found before any request.
    if (error instanceof UsageError) {
      err(usageLine(error));
      return 2;
    }
    const keyFrom = apiKey === null ? null : command.client.apiKey === undefined ? 'CURT_API_KEY' : '--api-key';
    // Curt's 404 for a route the URL service has may come from the KGS or a metrics port: asked, and said so.
    const failure = describeFailure(await recogniseListener(error, server), server, command.client.server === undefined ? 'CURT_SERVER' : '--server', keyFrom);
    if (failure === null) throw error;
    err(command.client.json ? JSON.stringify(failure.problem) : `curt: ${failure.message}`);
    return failure.exitCode;
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) err(error.message);
    else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      const metrics = (error as { setting?: string }).setting === 'METRICS_PORT';
      err(`curt: ${(error as Error).message}; choose another port with ${metrics ? 'METRICS_PORT (the metrics listener), or METRICS_PORT=off' : '--port or PORT'}`);
    }
    else err(`curt: ${(error as Error).message}`);
    // A server that failed half-way may hold timers and files open: end here, not when they close.
    process.exit(1);
  },
);
