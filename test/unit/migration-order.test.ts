// loadMigrations (src/core/migrate.ts) orders the files by their number, not their names as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMigrations } from '../../src/core/migrate.ts';

test('migrations load in the order of their numbers: 999 before 1000, though "1000_" sorts first as text; a shared number is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'curt-migration-order-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const name of ['1000_later.sql', '101_early.sql', '999_middle.sql', 'notes.txt']) await writeFile(join(dir, name), 'SELECT 1;');
  assert.deepEqual((await loadMigrations(dir)).map((m) => [m.version, m.name]), [[101, '101_early.sql'], [999, '999_middle.sql'], [1000, '1000_later.sql']]);
  await writeFile(join(dir, '0101_again.sql'), 'SELECT 1;');
  await assert.rejects(loadMigrations(dir), /two migrations share version 101/);
});
