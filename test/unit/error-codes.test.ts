// The error codes are a closed set: README's error table and ERROR_CODES in src/core/errors.ts list the
// same codes with the same statuses, both ways, so a client can rely on the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../src/core/errors.ts';

function readmeErrorTable(): Map<string, number> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Errors\n'));
  assert.ok(section, 'README has an "## Errors" section');
  const rows = new Map<string, number>();
  for (const [, code, status] of section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)) {
    assert.ok(code !== undefined && status !== undefined);
    assert.ok(!rows.has(code), `${code} is in the table twice`);
    rows.set(code, Number(status));
  }
  return rows;
}

test('every code the services answer is in README’s error table, with its status', () => {
  const table = readmeErrorTable();
  for (const [code, status] of Object.entries(ERROR_CODES)) {
    assert.equal(table.get(code), status, `README's error table: ${code} should be ${status}`);
  }
});

test('every code in README’s error table is one the services answer', () => {
  const table = readmeErrorTable();
  assert.ok(table.size > 10, `only ${table.size} rows found: the pattern is broken`);
  for (const code of table.keys()) assert.ok(Object.hasOwn(ERROR_CODES, code), `README documents ${code}, which no error has`);
});

test('README names no error code outside the set where it describes the API', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  // The API tables name codes as `4xx` `code` / `code`: each must be a real one (`blocked_domain` was not).
  const api = readme.split(/^## /m).filter((part) => /^(The KGS API|The URL service API|API)/.test(part) || part.includes('| `POST /urls'));
  const named = api.flatMap((part) => [...part.matchAll(/`[1-5]\d\d` ((?:`[a-z_]+`(?: \/ )?)+)/g)].flatMap((m) => [...(m[1] ?? '').matchAll(/`([a-z_]+)`/g)].map((c) => c[1] ?? '')));
  assert.ok(named.length > 5, `only ${named.length} codes found in the API tables: the pattern is broken`);
  for (const code of named) assert.ok(Object.hasOwn(ERROR_CODES, code), `README's API table names ${code}, which no error has`);
});
