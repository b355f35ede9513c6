// GEOIP_DB is checked before the URL service connects to anything, from the file's last 128 KiB; a
// file it cannot use fails with a GeoIpDatabaseError, which the process prints as one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCountryDatabase, DEFAULT_GEOIP_DB, GeoIpDatabaseError, openCountryResolver } from '../../src/analytics/country.ts';

test('checkCountryDatabase passes an MMDB file and refuses a missing file, a folder, a text file and an empty file', async () => {
  await checkCountryDatabase(DEFAULT_GEOIP_DB);
  const dir = await mkdtemp(join(tmpdir(), 'curt-geoip-check-'));
  try {
    const text = join(dir, 'hostname');
    await writeFile(text, 'a-machine\n');
    const empty = join(dir, 'empty.mmdb');
    await writeFile(empty, '');
    const refused = (path: string, reason: RegExp) => (err: unknown) => err instanceof GeoIpDatabaseError && err.path === path && reason.test(err.reason);
    await assert.rejects(checkCountryDatabase(join(dir, 'absent.mmdb')), refused(join(dir, 'absent.mmdb'), /^cannot be read: ENOENT/));
    await assert.rejects(checkCountryDatabase(dir), refused(dir, /^cannot be read: EISDIR/));
    await assert.rejects(checkCountryDatabase(text), refused(text, /^is not a MaxMind DB \(MMDB\) file: it has no MMDB metadata$/));
    await assert.rejects(checkCountryDatabase(empty), refused(empty, /^is not a MaxMind DB \(MMDB\) file/));
    // Loading says the same, with the same type, for what the check cannot see in advance.
    await assert.rejects(openCountryResolver({ dbPath: text }), refused(text, /^is not a MaxMind DB \(MMDB\) file/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
