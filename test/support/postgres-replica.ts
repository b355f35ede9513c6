// A private PostgreSQL primary with a streaming replica of its own, for the read-replica tests: the
// shared server on 5432 is never touched. The primary is a private instance (initdb's defaults
// already allow it: wal_level=replica, max_wal_senders=10, and a `replication` line for 127.0.0.1 in
// pg_hba.conf, trust); the replica is a `pg_basebackup -R` of it (standby.signal and
// primary_conninfo written for it) started on another free port. Both are stopped by pid.
import { setTimeout as sleep } from 'node:timers/promises';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.ts';

export interface PostgresWithReplica {
  primary: PrivatePostgres;
  replica: PrivatePostgres;
  /** Stops replay on the replica (it still receives WAL): what the primary writes from now on is not seen there. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Waits until the replica has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  /** Both instances stopped (SIGKILL) and their folders deleted. */
  destroy(): Promise<void>;
}

export async function startPostgresWithReplica(label: string): Promise<PostgresWithReplica> {
  const primary = await startPrivatePostgres(`${label}-primary`);
  let replica: PrivatePostgres;
  try {
    replica = await startPrivatePostgres(`${label}-replica`, {
      initialise: {
        program: 'pg_basebackup',
        // -X stream: the WAL written during the copy comes with it; -R: start as a standby of the primary.
        args: (dir) => ['-D', dir, '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-X', 'stream', '-R', '--no-sync'],
      },
    });
  } catch (err) {
    await primary.destroy();
    throw err;
  }

  async function replayState(): Promise<string> {
    const [row] = await replica.query<{ state: string }>('postgres', 'SELECT pg_get_wal_replay_pause_state() AS state');
    return row?.state ?? 'unknown';
  }

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`replica: ${what} not reached within 20 s:\n${replica.log()}`);
      await sleep(20);
    }
  }

  return {
    primary,
    replica,
    async pauseReplay() {
      await replica.query('postgres', 'SELECT pg_wal_replay_pause()');
      // A pause is requested, then takes effect at the next record: wait until it has.
      await until('replay paused', async () => (await replayState()) === 'paused');
    },
    async resumeReplay() {
      await replica.query('postgres', 'SELECT pg_wal_replay_resume()');
      await until('replay resumed', async () => (await replayState()) === 'not paused');
    },
    async caughtUp() {
      const [row] = await primary.query<{ lsn: string }>('postgres', 'SELECT pg_current_wal_lsn()::text AS lsn');
      const target = row?.lsn ?? '0/0';
      await until(`replay of ${target}`, async () => {
        const [r] = await replica.query<{ done: boolean }>('postgres', 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [target]);
        return r?.done === true;
      });
    },
    async destroy() {
      await replica.destroy();
      await primary.destroy();
    },
  };
}
