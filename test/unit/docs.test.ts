// The README's configuration table must name every variable the code reads, so the docs cannot drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const headings = markdown.split('\n').filter((line) => /^#{1,6} /.test(line));
  return new Set(
    headings.map((line) =>
      line
        .replace(/^#+ /, '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

test('every relative link in README.md and docs/ names a file that exists, and a heading in it', () => {
  const root = new URL('../../', import.meta.url);
  const pages = ['README.md', ...readdirSync(new URL('docs/', root)).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const text = readFileSync(new URL(page, root), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (target === undefined || /^[a-z]+:/i.test(target)) continue;
      checked++;
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? new URL(page, root) : new URL(path, new URL(page, root));
      if (!existsSync(file)) {
        broken.push(`${page}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && file.pathname.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) {
        broken.push(`${page}: ${target} (no such heading)`);
      }
    }
  }
  assert.ok(checked > 3, `only ${checked} relative links found: the pattern is broken`);
  assert.deepEqual(broken, []);
});
