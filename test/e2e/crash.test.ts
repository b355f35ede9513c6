// An unhandled rejection or an uncaught exception in a real process: it is logged with its stack and
// origin, the clicks counted in memory are written to PostgreSQL, and the process exits 1
// (src/core/shutdown.ts; docs/operations.md, "Shutdown (SIGTERM)").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ROOT } from '../support/processes.ts';
import { createTestDatabase } from '../support/postgres.ts';

async function crash(how: 'rejection' | 'exception'): Promise<void> {
  const database = await createTestDatabase(`crash_${how}`);
  try {
    const { rows } = await database.db.query<{ id: number }>(
      "INSERT INTO urls (short_code, original_url, created_at) VALUES ('crash1', 'https://example.com/', now()) RETURNING id",
    );
    const id = rows[0]?.id ?? 0;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/crash-with-clicks.ts', database.url, how, String(id), '7'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);

    assert.equal(code, 1, output);
    assert.match(output, /counted 7/);
    const fatal = output.split('\n').find((line) => line.includes('"level":"fatal"'));
    assert.ok(fatal, `a fatal log line:\n${output}`);
    const entry = JSON.parse(fatal) as { origin: string; err: { message: string; stack: string } };
    assert.equal(entry.origin, how === 'rejection' ? 'unhandledRejection' : 'uncaughtException');
    assert.match(entry.err.message, how === 'rejection' ? /a promise nobody awaited failed/ : /a timer callback threw/);
    assert.match(entry.err.stack, /crash-with-clicks\.ts/, 'the stack says where');
    const { rows: after } = await database.db.query<{ clicks: number }>('SELECT clicks FROM url_totals WHERE url_id = $1', [id]);
    assert.equal(after[0]?.clicks, 7, `the counted clicks were written before the exit:\n${output}`);
  } finally {
    await database.drop();
  }
}

test('an unhandled rejection is logged with its stack, the counted clicks are written, and the process exits 1', () => crash('rejection'));
test('an uncaught exception is logged with its stack, the counted clicks are written, and the process exits 1', () => crash('exception'));
