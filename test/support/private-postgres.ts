// A PostgreSQL server of the test's own, for fault tests that kill, freeze or restart the database:
// the shared server on 5432 is never touched. initdb into a temporary folder, then `postgres` on a
// free port, spawned directly so that its pid is ours to signal. Faults hit the whole instance —
// the postmaster and every backend (each backend is its own process group, so a group signal would
// miss them): SIGKILL is a crash, SIGSTOP a server that accepts connections and answers nothing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { migrate } from '../../src/core/migrate.ts';
import { testLogger } from './log.ts';
import { onFreePort } from './processes.ts';

const BIN = process.env.TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  port: number;
  dataDir: string;
  /** `postgres://postgres@127.0.0.1:PORT/<database>` */
  url(database: string): string;
  /** Creates a database and applies the migrations; returns its URL. */
  createMigratedDatabase(name: string): Promise<string>;
  /** Runs one statement on a fresh connection (for the test's own checks). */
  query<R = Record<string, unknown>>(database: string, text: string, params?: unknown[]): Promise<R[]>;
  /** SIGKILL to the postmaster and every backend, then waits until none of them is left. */
  kill(): Promise<void>;
  /** SIGSTOP to the whole instance: connections are accepted by the kernel, nothing answers. */
  freeze(): void;
  /** SIGCONT to the whole instance. */
  thaw(): void;
  /** Starts the server (again) on the same port and data folder; waits until it accepts queries. */
  start(): Promise<void>;
  /** Stops the instance (SIGKILL) and deletes its folder. */
  destroy(): Promise<void>;
  /** The server's log, for assertion messages. */
  log(): string;
}

/** PostgreSQL refuses to run as root: when the tests do, the server runs as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, and there is no postgres user to run PostgreSQL as');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Pids of the processes whose parent is `pid` (the backends and auxiliaries of a postmaster). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent pid; the name (field 2) may hold spaces, hence lastIndexOf.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** Alive, and not a zombie waiting to be reaped (a zombie holds no port, socket or shared memory). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

export interface PrivatePostgresOptions {
  /**
   * Fills the empty data folder instead of initdb: a streaming replica's is a base backup of its
   * primary (test/support/postgres-replica.ts). Runs as the server's user, with this program and its arguments.
   */
  initialise?: { program: string; args: (dataDir: string) => string[] };
  /** Picks the port to try (default freePort, see onFreePort); a test of the retry gives a taken one first. */
  pickPort?: () => Promise<number>;
}

export async function startPrivatePostgres(label: string, options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const user = serverUser();
  const dataDir = mkdtempSync(join(tmpdir(), `curt-pg-${label.replace(/\W/g, '-')}-`));
  if (user) chownSync(dataDir, user.uid, user.gid);
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' };
  const initialise = options.initialise ?? {
    program: 'initdb',
    args: (dir: string) => ['-D', dir, '-U', 'postgres', '--auth=trust', '--no-sync', '--locale=C', '-E', 'UTF8'],
  };
  const init = spawnSync(`${BIN}/${initialise.program}`, initialise.args(dataDir), {
    cwd: dataDir,
    env,
    encoding: 'utf8',
    ...asUser,
  });
  if (init.status !== 0) throw new Error(`${initialise.program} failed:\n${init.stdout}\n${init.stderr}`);
  /** Set by the first start (onFreePort, below); a restart keeps it. */
  let port = 0;
  const logPath = join(dataDir, 'server.log');
  let child: ChildProcess | null = null;

  const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;

  async function accepting(): Promise<boolean> {
    const client = new pg.Client({ connectionString: url('postgres'), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async function start(): Promise<void> {
    const log = openSync(logPath, 'a');
    // fsync off: a killed server loses nothing (its writes are in the OS cache), and tests run faster.
    // synchronous_commit stays on, so a commit acknowledged to the service survives SIGKILL.
    child = spawn(
      `${BIN}/postgres`,
      ['-D', dataDir, '-p', String(port), '-k', dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=60', '-c', 'shared_buffers=16MB'],
      { cwd: dataDir, env, stdio: ['ignore', log, log], ...asUser },
    );
    closeSync(log);
    const started = child;
    const deadline = Date.now() + 30_000;
    while (!(await accepting())) {
      if (started.exitCode !== null || started.signalCode !== null) throw new Error(`postgres exited at start:\n${readLog()}`);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s:\n${readLog()}`);
      await sleep(50);
    }
  }

  function readLog(): string {
    return existsSync(logPath) ? readFileSync(logPath, 'utf8').slice(-4000) : '';
  }

  /** The postmaster and its children, postmaster first. */
  function instance(): number[] {
    const pid = child?.pid;
    if (pid === undefined || child?.exitCode !== null || child.signalCode !== null) return [];
    return [pid, ...childrenOf(pid)];
  }

  async function kill(): Promise<void> {
    const current = child;
    if (current?.pid === undefined) return;
    const pids = instance();
    const exited = current.exitCode === null && current.signalCode === null ? once(current, 'exit') : Promise.resolve();
    signal(pids, 'SIGKILL');
    await exited;
    child = null;
    // The next start needs the port, the socket and the shared memory that these processes held.
    const deadline = Date.now() + 10_000;
    while (pids.some(isAlive)) {
      if (Date.now() > deadline) throw new Error(`postgres processes still alive after SIGKILL: ${pids.filter(isAlive).join(', ')}`);
      await sleep(20);
    }
  }

  // The first start moves to a new port when the one picked was taken before postgres bound it; a
  // restart keeps its port, which the server held until it was killed.
  try {
    // start's error quotes the log's tail, which onFreePort reads. The log keeps every attempt, so
    // a taken port's line may cost one attempt more than needed, never one fewer.
    await onFreePort(async (picked) => {
      port = picked;
      await start();
    }, options.pickPort);
  } catch (err) {
    // The error holds the log's tail; nothing else of the folder is wanted.
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  // A test that crashes must not leave a server running: kill it with the test process.
  const onExit = (): void => signal(instance(), 'SIGKILL');
  process.once('exit', onExit);

  return {
    port,
    dataDir,
    url,
    async createMigratedDatabase(name) {
      const admin = new pg.Client({ connectionString: url('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const client = new pg.Client({ connectionString: url(name) });
      await client.connect();
      try {
        await migrate(client, testLogger('migrate'));
      } finally {
        await client.end();
      }
      return url(name);
    },
    async query<R>(database: string, text: string, params?: unknown[]): Promise<R[]> {
      const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        return (await client.query(text, params)).rows as R[];
      } finally {
        await client.end();
      }
    },
    kill,
    freeze() {
      // The postmaster first, so that it forks no new backend while the rest are being stopped.
      const [postmaster, ...rest] = instance();
      if (postmaster !== undefined) signal([postmaster], 'SIGSTOP');
      signal(rest, 'SIGSTOP');
    },
    thaw() {
      const [postmaster, ...rest] = instance();
      signal(rest, 'SIGCONT');
      if (postmaster !== undefined) signal([postmaster], 'SIGCONT');
    },
    start,
    async destroy() {
      signal(instance(), 'SIGCONT');
      await kill();
      process.removeListener('exit', onExit);
      rmSync(dataDir, { recursive: true, force: true });
    },
    log: readLog,
  };
}
