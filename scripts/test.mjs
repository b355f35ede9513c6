#!/usr/bin/env node
// Runs the test suite with Node's own runner (TypeScript through tsx). Node 20's runner takes no
// globs, so the files are listed here. Usage: node scripts/test.mjs [folder-or-file ...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
const targets = roots.length > 0 ? roots : ['test/unit', 'test/integration', 'test/e2e', 'test/deploy', 'test/browser'];

function collect(path) {
  if (!statSync(path, { throwIfNoEntry: false })) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const full = join(path, name);
      if (statSync(full).isDirectory()) return collect(full);
      return name.endsWith('.test.ts') ? [full] : [];
    });
}

const files = targets.flatMap(collect);
if (files.length === 0) {
  console.error(`no test files under ${targets.join(', ')}`);
  process.exit(1);
}
// The web app is built (when stale) once, before the tests that serve it: the services they start
// from the sources would each build it otherwise, all at the same time. Unit tests never serve it.
if (files.some((file) => !file.split(/[\\/]/).includes('unit'))) {
  const web = spawnSync(process.execPath, [join(import.meta.dirname, 'build-web.mjs'), '--if-stale'], { stdio: 'inherit' });
  if (web.status !== 0) process.exit(web.status ?? 1);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...passThrough, ...files],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
