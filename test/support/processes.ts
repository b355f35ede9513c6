// Starts the real service processes (as `npm run kgs` would) on free ports, and stops them by pid.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * `launch` on a port picked free (by `pick`, freePort unless told). A picked port is not reserved:
 * until the server binds it, any process may take it (an outgoing connection's local port among
 * them, from the same range). A launch whose error says "Address already in use" is made again on a
 * new port, twice at most.
 */
export async function onFreePort<T>(launch: (port: number) => Promise<T>, pick: () => Promise<number> = freePort): Promise<{ port: number; launched: T }> {
  for (let attempt = 1; ; attempt++) {
    const port = await pick();
    try {
      return { port, launched: await launch(port) };
    } catch (err) {
      if (!(attempt < 3 && err instanceof Error && err.message.includes('Address already in use'))) throw err;
    }
  }
}

export interface ServiceProcess {
  url: string;
  port: number;
  /** The metrics listener (METRICS_PORT), e.g. http://127.0.0.1:9464; /metrics lives only there. */
  metricsUrl: string;
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `work`; a failure's message gets what each of `processes` printed last and how it stands
 * (running, or exited): a dependency's timeout or a crash that caused it is often there.
 */
export async function withOutputOf(processes: readonly { name: string; process: ServiceProcess }[], work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (err instanceof Error) {
      for (const { name, process: p } of processes) {
        const state = p.child.exitCode !== null || p.child.signalCode !== null ? `exited (${p.child.exitCode ?? p.child.signalCode})` : 'running';
        err.message += `\n--- ${name} ${state}; its last output ---\n${p.output().slice(-4000)}`;
      }
    }
    throw err;
  }
}

/** Only what a service needs from the parent environment: nothing that could leak into a test. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG'];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]])));
}

type StartOptions = { readyPath?: string; timeoutMs?: number; args?: string[]; nodeArgs?: string[] };

/**
 * A port from freePort() is free when it is picked, not reserved: until the child binds it (a second
 * or more of start-up on a loaded machine), another process may take it. A start that failed on a
 * port taken that way is tried again on new ports (never one the caller chose).
 */
export async function startService(entry: string, env: Record<string, string>, options: StartOptions = {}): Promise<ServiceProcess> {
  const ownPorts = env.PORT === undefined || env.METRICS_PORT === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServiceOnce(entry, env, options);
    } catch (err) {
      if (!(ownPorts && attempt < 3 && err instanceof PortTaken)) throw err;
    }
  }
}

class PortTaken extends Error {}

async function startServiceOnce(entry: string, env: Record<string, string>, options: StartOptions): Promise<ServiceProcess> {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
  // Never the default metrics port: tests and other checkouts run side by side.
  const metricsPort = env.METRICS_PORT === undefined ? await freePort() : Number(env.METRICS_PORT);
  // bin/curt.mjs registers tsx itself when it runs the sources: with `--import tsx` too, every module
  // was compiled twice (two loader chains), into other code than the test processes' for the same
  // file, and the coverage merge (which child processes feed too: Node hands NODE_V8_COVERAGE on)
  // mixed the two up, taking whole files for unrun.
  const loader = entry.endsWith('.mjs') ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, entry, ...(options.args ?? [])], {
    cwd: ROOT,
    // A short drain unless the test sets one: SIGTERM drains for the whole SHUTDOWN_DRAIN_MS (5 s by
    // default), and most tests that send it are not about the drain.
    env: { ...baseEnv(), LOG_LEVEL: 'warn', HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '200', ...env, PORT: String(port), METRICS_PORT: String(metricsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) {
      const message = `${entry} exited with ${child.exitCode}:\n${output}`;
      throw /EADDRINUSE/.test(output) ? new PortTaken(message) : new Error(message);
    }
    try {
      // Bounded: a port taken by something that accepts and never answers must not hang the start.
      const res = await fetch(`${url}${options.readyPath ?? '/health'}`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${entry} did not become ready:\n${output}`);
    }
    await sleep(50);
  }
  return {
    url,
    port,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') => stopChild(child, signal),
  };
}

/** Sends `signal` (unless the child has already exited) and resolves to its exit code. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}

/** How a process that stops by itself ended, and what it printed. */
export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `entry` (from the sources, through tsx) with exactly `env` until it exits by itself: it must,
 * within `timeoutMs`, or it is killed and its code is null.
 */
export async function runToExit(entry: string, env: Record<string, string>, timeoutMs = 15_000): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** What a command run to its end printed, and its exit code (-1: none, it was killed). */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `file args…` run to its end with only PATH and HOME beside `env` (a new user's shell, not this
 * process's environment), in `cwd` (the project), with `input` on its standard input.
 */
export function runCommand(file: string, args: string[], options: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env };
    const child = execFile(file, args, { cwd: options.cwd ?? ROOT, env, ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }) }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
    // A command that refuses its arguments exits without reading its input: the pipe it closed is no
    // error of the test's (EPIPE, unhandled, would end the test process after its tests had passed).
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

/** `node <cwd>/bin/curt.mjs args…` (runCommand). */
export const runCurt = (args: string[], options: Parameters<typeof runCommand>[2] = {}): Promise<CommandResult> =>
  runCommand(process.execPath, [join(options.cwd ?? ROOT, 'bin/curt.mjs'), ...args], options);

export function startKgs(env: Record<string, string>): Promise<ServiceProcess> {
  return startService('src/kgs/main.ts', { KGS_TOKEN: 'test-token', ...env }, { readyPath: '/ready' });
}

export const E2E_ADMIN_KEY = 'curt_e2e-admin-key-0123456789abcdefgh';

/** A URL service process on an already-migrated database; KGS_URL is required in `env`. */
/** `entry`: another checkout's src/url/main.ts (bench/ab.ts). */
export function startUrlService(env: Record<string, string>, options: { nodeArgs?: string[]; entry?: string } = {}): Promise<ServiceProcess> {
  const defaults = {
    KGS_TOKEN: 'test-token',
    ADMIN_API_KEY: E2E_ADMIN_KEY,
    ALLOW_ANONYMOUS: 'true',
    PUBLIC_BASE_URL: 'http://sho.rt',
    RATE_LIMIT_PER_KEY: '0',
    RATE_LIMIT_PER_IP: '0',
  };
  return startService(options.entry ?? 'src/url/main.ts', { ...defaults, ...env }, options);
}
