// bin/curt.mjs picks what runs: dist/ when it is complete and no older than the sources, else the
// sources through tsx (a checkout), else one line saying to build (a production copy without dist/).
// A stand-in project holds the real bin/curt.mjs and two tiny programs, one in dist/ and one in src/,
// so each case shows which one ran without a real build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../support/processes.ts';

const run = promisify(execFile);

async function curt(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(dir, 'bin/curt.mjs'), 'a', 'b'], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

async function project(t: { after(fn: () => Promise<void>): void }, parts: { dist?: boolean; marker?: boolean; src?: boolean; tsx?: boolean }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'curt-entry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  if (parts.dist === true) {
    await mkdir(join(dir, 'dist/cli'), { recursive: true });
    await writeFile(join(dir, 'dist/cli/main.js'), "process.stdout.write(`dist ${process.argv.slice(2).join(' ')}\\n`);\n");
    if (parts.marker === true) await writeFile(join(dir, 'dist/.build-complete'), '');
  }
  if (parts.src === true) {
    await mkdir(join(dir, 'src/cli'), { recursive: true });
    await writeFile(join(dir, 'src/cli/main.ts'), "const from: string = 'src';\nprocess.stdout.write(`${from} ${process.argv.slice(2).join(' ')}\\n`);\n");
    for (const name of ['tsconfig.json', 'tsconfig.build.json']) await writeFile(join(dir, name), '{}\n');
  }
  if (parts.tsx === true) await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Sets every file's modification time: the sources at `sources`, the build marker at `built`. */
async function times(dir: string, sources: number, built: number): Promise<void> {
  for (const path of ['src/cli/main.ts', 'src/cli', 'src', 'tsconfig.json', 'tsconfig.build.json']) await utimes(join(dir, path), at(sources), at(sources));
  await utimes(join(dir, 'dist/.build-complete'), at(built), at(built));
}

test('a checkout whose dist/ is newer than every source runs dist/', async (t) => {
  const dir = await project(t, { dist: true, marker: true, src: true, tsx: true });
  await times(dir, 10, 20);
  assert.deepEqual(await curt(dir), { code: 0, stdout: 'dist a b\n', stderr: '' });
});

test('a checkout with a source edited after the build runs the sources, not the old dist/', async (t) => {
  const dir = await project(t, { dist: true, marker: true, src: true, tsx: true });
  await times(dir, 10, 20);
  await utimes(join(dir, 'src/cli/main.ts'), at(30), at(30));
  assert.deepEqual(await curt(dir), { code: 0, stdout: 'src a b\n', stderr: '' });
  // A changed compiler setting makes dist/ stale too.
  await times(dir, 10, 20);
  await utimes(join(dir, 'tsconfig.build.json'), at(30), at(30));
  assert.equal((await curt(dir)).stdout, 'src a b\n');
});

test('a checkout whose build stopped half-way (no marker) runs the sources', async (t) => {
  const dir = await project(t, { dist: true, marker: false, src: true, tsx: true });
  assert.equal((await curt(dir)).stdout, 'src a b\n');
});

test('a production copy (no sources) runs dist/ whatever its age', async (t) => {
  const dir = await project(t, { dist: true, marker: true });
  await utimes(join(dir, 'dist/.build-complete'), at(0), at(0));
  assert.deepEqual(await curt(dir), { code: 0, stdout: 'dist a b\n', stderr: '' });
});

test('without a complete dist/ and without tsx, curt refuses in one line that says to build', async (t) => {
  for (const parts of [{ dist: true, marker: false }, { src: true }]) {
    const dir = await project(t, parts);
    const result = await curt(dir);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^curt: .*: run `npm run build`\n$/);
  }
});
