// The README's configuration table must name every variable the code reads, so the docs cannot drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VARIABLES } from '../../src/core/config.ts';

test('README documents every configuration variable with its default', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const [name, spec] of Object.entries(VARIABLES)) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    assert.ok(row, `README has no configuration row for ${name}`);
    assert.ok(row.includes(` ${spec.default} `), `README row for ${name} does not show the default ${spec.default}`);
  }
});

test('the code reads no environment variable that VARIABLES does not declare', () => {
  const config = readFileSync(new URL('../../src/core/config.ts', import.meta.url), 'utf8');
  const read = [...config.matchAll(/r\.\w+\('([A-Z_]+)'/g)].map((m) => m[1]);
  assert.ok(read.length > 10);
  for (const name of read) assert.ok(name !== undefined && name in VARIABLES, `${name} is read but not declared in VARIABLES`);
});
