#!/usr/bin/env node
// CI gate: no import cycle among the modules of src/ (type-only imports and dynamic import() count
// too: a cycle of types still ties two modules together). Fails as well when an import cannot be
// resolved, because a module madge skips could hide a cycle. Usage: node scripts/check-import-cycles.mjs [folder]
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import madge from 'madge';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const folder = process.argv[2] ?? join(root, 'src');

const result = await madge(folder, {
  fileExtensions: ['ts', 'tsx'],
  tsConfig: join(root, 'tsconfig.json'),
  detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
});

const modules = Object.keys(result.obj()).length;
const cycles = result.circular();
// A package's subpath export (`@electric-sql/pglite/contrib/pg_trgm`: madge's resolver does not read a
// package's `exports`) lies outside src/ and cannot close a cycle in it; a relative import that does
// not resolve could, and still fails the check.
const skipped = result.warnings().skipped.filter((path) => path.startsWith('.') || path.startsWith('/'));

for (const cycle of cycles) console.error(`import cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
for (const path of skipped) console.error(`unresolved import (the cycle check cannot see past it): ${path}`);
if (modules === 0) {
  console.error(`import cycles: no module found under ${folder}`);
  process.exit(1);
}
if (cycles.length > 0 || skipped.length > 0) {
  console.error(`import cycles: ${cycles.length} cycle(s), ${skipped.length} unresolved import(s) in ${modules} modules of ${folder}`);
  process.exit(1);
}
console.log(`import cycles: none in ${modules} modules of ${folder}`);
