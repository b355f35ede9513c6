#!/usr/bin/env node
// CI gate: runs the test suite (scripts/test.mjs) under c8, which collects V8's own coverage from
// every test process and maps it back to the TypeScript of src/ through tsx's source maps; prints
// the per-file table and fails when the whole suite covers less than the floor below.
// Usage: node scripts/coverage.mjs [folder-or-file ...] — with arguments the figures are printed but
// the floor is not checked (a part of the suite cannot be held to the whole suite's floor).
//
// The services that e2e tests start as child processes count too: Node hands NODE_V8_COVERAGE on to
// a child whatever environment it is given. Each module must then be compiled the same way in every
// process (test/support/processes.ts): c8 merges the processes' figures per file by offsets into the
// compiled code, and two compilations of one file merged into nonsense.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Just under what the whole suite measured when the floor was set (README, "Tests"): raise it when
// the suite covers more, never lower it to let a change through.
const FLOOR = { lines: 95, statements: 95, functions: 96, branches: 90 };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const wholeSuite = args.every((a) => a.startsWith('--'));
const work = mkdtempSync(join(tmpdir(), 'curt-coverage-'));

const c8 = [
  join(root, 'node_modules', 'c8', 'bin', 'c8.js'),
  '--all',
  '--src', 'src',
  '--include', 'src/**/*.ts',
  // The web app is browser code: the browser tests run it in Chromium, where c8 cannot see it.
  '--exclude', 'src/web/**',
  '--reporter', 'text',
  '--reporter', 'text-summary',
  '--temp-directory', join(work, 'raw'),
  '--report-dir', join(work, 'report'),
  ...(wholeSuite
    ? ['--check-coverage', ...Object.entries(FLOOR).flatMap(([metric, floor]) => [`--${metric}`, String(floor)])]
    : []),
  process.execPath, join(root, 'scripts', 'test.mjs'), ...args,
];

const child = spawn(process.execPath, c8, { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => {
  rmSync(work, { recursive: true, force: true });
  if (wholeSuite && code === 0) {
    const floor = Object.entries(FLOOR).map(([metric, value]) => `${metric} ${value}%`).join(', ');
    console.log(`coverage floor met (${floor})`);
  }
  process.exit(code ?? (signal ? 1 : 0));
});
