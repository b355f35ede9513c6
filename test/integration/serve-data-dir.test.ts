// The data folder of `curt serve`: one owner at a time (a real lock, also when several starts race
// over a pid file left by a killed process), private to its user, and a first start whose port was
// taken still leaves a way in (the admin key is printed by the start that listens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServeConfig } from '../../src/core/config.ts';
import { claimDataDir, DataDirInUse, DataDirUnsafe, PID_FILE, preparePrivateDir } from '../../src/serve/data-dir.ts';
import { startServe, type Served } from '../../src/serve/serve.ts';
import { captureLogger, testLogger } from '../support/log.ts';
import { ROOT } from '../support/processes.ts';

/** A pid that no process has: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  assert.ok(child.pid !== undefined);
  return child.pid;
}

/** The pid a pid file names (its first line). */
const pidOf = (text: string): number => Number(text.split('\n')[0]);

async function tempDir(t: { after: (fn: () => Promise<void>) => void }, label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `curt-${label}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('two claims racing over a stale pid file: exactly one owns the folder, every time', async (t) => {
  const root = await tempDir(t, 'claim-race');
  for (let round = 0; round < 20; round++) {
    const dir = join(root, String(round));
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, PID_FILE), `${await deadPid()}\n`);
    const results = await Promise.allSettled([claimDataDir(dir), claimDataDir(dir)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof DataDirInUse);
    assert.deepEqual([won.length, refused.length], [1, 1], `round ${round}: ${results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'claimed')).join(', ')}`);
    assert.equal(pidOf(await readFile(join(dir, PID_FILE), 'utf8')), process.pid);
  }
});

test('a pid file left empty or unreadable by a crash is taken over, also by two claims racing', async (t) => {
  const root = await tempDir(t, 'claim-empty');
  for (const [round, leftover] of ['', '\n', 'not a pid\n', '0\n'].entries()) {
    const dir = join(root, String(round));
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, PID_FILE), leftover);
    const results = await Promise.allSettled([claimDataDir(dir), claimDataDir(dir)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof DataDirInUse);
    assert.equal(won.length, 1, `leftover ${JSON.stringify(leftover)}: one claim owns the folder (${results.map((r) => r.status === 'rejected' ? String(r.reason) : 'claimed').join(', ')})`);
    assert.equal(refused.length, 1, `leftover ${JSON.stringify(leftover)}: the other is told it is in use`);
    assert.equal(pidOf(await readFile(join(dir, PID_FILE), 'utf8')), process.pid);
    for (const r of won) if (r.status === 'fulfilled') await r.value();
  }
});

test('four processes starting together over a stale pid file: one claims the folder, the others are told it is in use', async (t) => {
  const root = await tempDir(t, 'claim-processes');
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
  for (let round = 0; round < 3; round++) {
    const dir = join(root, String(round));
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, PID_FILE), `${await deadPid()}\n`);
    const racers = [0, 1, 2, 3].map(() => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/claim-data-dir.ts', dir], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const said = async (word: RegExp): Promise<string> => {
        while (!word.test(output)) {
          if (child.exitCode !== null) throw new Error(`claimer exited with ${child.exitCode}: ${output}`);
          await once(child.stdout ?? child, 'data');
        }
        return output;
      };
      return { child, said };
    });
    // Both loaded and waiting: then both go at once.
    await Promise.all(racers.map((r) => r.said(/ready\n/)));
    for (const racer of racers) racer.child.stdin?.write('go\n');
    const outcomes = await Promise.all(racers.map(async (r) => ((await r.said(/(claimed|in use)\n/)).includes('claimed') ? 'claimed' : 'in use')));
    assert.deepEqual([...outcomes].sort(), ['claimed', 'in use', 'in use', 'in use'], `round ${round}`);
    const owner = racers[outcomes.indexOf('claimed')];
    assert.equal(pidOf(await readFile(join(dir, PID_FILE), 'utf8')), owner?.child.pid);
    for (const racer of racers) {
      racer.child.kill('SIGKILL');
      if (racer.child.exitCode === null && racer.child.signalCode === null) await once(racer.child, 'exit');
    }
  }
});

test('a pid file holding this process\'s pid from an earlier process is taken over (the image\'s node is pid 1 on every start); this process\'s own claim is in use', async (t) => {
  const root = await tempDir(t, 'claim-same-pid');
  // An earlier release's file, and one of this release's written by another process that had this pid.
  for (const [round, leftover] of [`${process.pid}\n`, `${process.pid}\nstarted 12345\ntoken 00000000-0000-4000-8000-000000000000\n`].entries()) {
    const dir = join(root, String(round));
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, PID_FILE), leftover);
    const release = await claimDataDir(dir);
    assert.match(await readFile(join(dir, PID_FILE), 'utf8'), new RegExp(`^${process.pid}\\nstarted \\d+\\ntoken [0-9a-f-]{36}\\nnamespace (pid:\\[\\d+\\]|-)\\n$`));
    await assert.rejects(claimDataDir(dir), DataDirInUse, 'a second claim of this process');
    await release();
  }
});

test('a pid file naming a live process that started at another time than the one that wrote it is taken over; the writer itself is not', async (t) => {
  const root = await tempDir(t, 'claim-reused-pid');
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  assert.ok(child.pid !== undefined);
  const procStat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
  const startedAt = procStat.slice(procStat.lastIndexOf(')') + 2).split(' ')[19];
  const reused = join(root, 'reused');
  await mkdir(reused, { mode: 0o700 });
  await writeFile(join(reused, PID_FILE), `${child.pid}\nstarted ${Number(startedAt) - 1}\ntoken x\n`);
  await (await claimDataDir(reused))();
  const held = join(root, 'held');
  await mkdir(held, { mode: 0o700 });
  await writeFile(join(held, PID_FILE), `${child.pid}\nstarted ${startedAt}\ntoken x\n`);
  await assert.rejects(claimDataDir(held), (err: Error) => err instanceof DataDirInUse && err.message.includes(`process ${child.pid}`));
});

test('a claim from another pid namespace (another container on the volume) holds while it is touched, lapses once left untouched; the owner touches its own, and gives up only its own', async (t) => {
  const root = await tempDir(t, 'claim-elsewhere');
  const elsewhere = '1\nstarted 5\ntoken 00000000-0000-4000-8000-000000000000\nnamespace pid:[1]\n';
  const place = async (name: string, ageMs: number): Promise<string> => {
    const dir = join(root, name);
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, PID_FILE), elsewhere);
    const then = new Date(Date.now() - ageMs);
    await utimes(join(dir, PID_FILE), then, then);
    return dir;
  };
  const beating = await place('beating', 0);
  const beat = setInterval(() => void utimes(join(beating, PID_FILE), new Date(), new Date()).catch(() => undefined), 100);
  t.after(() => clearInterval(beat));
  await assert.rejects(claimDataDir(beating, { staleAfterMs: 2000 }), (err: Error) => err instanceof DataDirInUse && err.message.includes('process 1'));

  const left = await place('left', 5000);
  const startedAt = performance.now();
  const release = await claimDataDir(left, { staleAfterMs: 1000, heartbeatMs: 50 });
  assert.ok(performance.now() - startedAt < 900, 'a claim untouched for longer than the bound is taken over at once');
  const claimed = (await stat(join(left, PID_FILE))).mtimeMs;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok((await stat(join(left, PID_FILE))).mtimeMs > claimed, 'the owner touches its pid file');
  await writeFile(join(left, PID_FILE), elsewhere);
  await release();
  assert.equal(await readFile(join(left, PID_FILE), 'utf8'), elsewhere, 'a release leaves a claim that is not its own');

  const quiet = await place('quiet', 0);
  const waited = performance.now();
  await (await claimDataDir(quiet, { staleAfterMs: 600 }))();
  assert.ok(performance.now() - waited >= 500, 'a fresh claim left untouched is waited out, then taken over');
});

test('a DATA_DIR that is a file is refused in one line', async (t) => {
  const root = await tempDir(t, 'a-file');
  const file = join(root, 'afile');
  await writeFile(file, '');
  await assert.rejects(claimDataDir(file), (err: Error) => err instanceof DataDirUnsafe && err.message === `DATA_DIR ${file} is not a folder`);
});

test('a claimed data folder is private: created 0700 with a pid file of 0600, even under a umask of 022', async (t) => {
  const root = await tempDir(t, 'private');
  const dir = join(root, 'data');
  const umask = process.umask(0o022);
  try {
    const release = await claimDataDir(dir);
    t.after(release);
  } finally {
    process.umask(umask);
  }
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dir, PID_FILE))).mode & 0o777, 0o600);
});

test('a data folder that other users can write is refused with one line; one they can only read is narrowed to 0700', async (t) => {
  const root = await tempDir(t, 'unsafe');
  const open = join(root, 'open');
  await mkdir(open);
  await chmod(open, 0o777);
  await assert.rejects(claimDataDir(open), (err: Error) => {
    assert.ok(err instanceof DataDirUnsafe, String(err));
    assert.match(err.message, /other users can write to it \(mode 777\)/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  await chmod(open, 0o770);
  await assert.rejects(preparePrivateDir(open), DataDirUnsafe, 'group-writable is refused too');
  const readable = join(root, 'readable');
  await mkdir(readable);
  await chmod(readable, 0o755);
  await preparePrivateDir(readable);
  assert.equal((await stat(readable)).mode & 0o777, 0o700);
});

test('a first start that cannot listen (port taken) makes no admin key; the next start that listens prints one', async (t) => {
  // Not tempDir: the server must stop before its folder goes.
  const dataDir = await mkdtemp(join(tmpdir(), 'curt-first-key-'));
  let served: Served | null = null;
  t.after(async () => {
    await served?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.after(() => void blocker.close());
  const address = blocker.address();
  assert.ok(address !== null && typeof address === 'object');
  const log = testLogger('serve');

  const taken = loadServeConfig({ PORT: String(address.port), HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
  await assert.rejects(startServe(taken, dataDir, log), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');

  const started = await startServe(loadServeConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }), dataDir, log);
  served = started;
  assert.match(started.createdAdminKey ?? '(none)', /^curt_/, 'the start that listens shows the first admin key');
  const res = await fetch(`${started.address}/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${started.createdAdminKey ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'works' }),
  });
  assert.equal(res.status, 201, 'and it is a working admin key');
});

test('ADMIN_API_KEY revoked: the next start says it stays refused, and makes and prints a new admin key, since none works', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'curt-revoked-key-'));
  let served: Served | null = null;
  t.after(async () => {
    await served?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const configured = 'curt_admin-revoked-0123456789abcdef';
  const config = loadServeConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ADMIN_API_KEY: configured });
  served = await startServe(config, dataDir, testLogger('serve'));
  assert.equal(served.createdAdminKey, null, 'ADMIN_API_KEY is the admin key: none is made');
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const keys = (await (await fetch(`${served.address}/api-keys`, { headers: auth(configured) })).json()) as { items: { id: number }[] };
  const [own] = keys.items;
  assert.ok(own !== undefined);
  assert.equal((await fetch(`${served.address}/api-keys/${own.id}`, { method: 'DELETE', headers: auth(configured) })).status, 204);
  await served.stop();
  served = null;

  const captured = captureLogger('serve');
  const { log } = captured;
  served = await startServe(config, dataDir, log);
  assert.match(captured.text(), new RegExp(`ADMIN_API_KEY is API key ${own.id}, revoked at .*: it stays refused`));
  assert.equal((await fetch(`${served.address}/api-keys`, { headers: auth(configured) })).status, 401, 'the revoked key stays refused');
  const fresh = served.createdAdminKey;
  assert.match(fresh ?? '(none)', /^curt_/, 'a new admin key is shown, since no admin key works');
  assert.equal((await fetch(`${served.address}/api-keys`, { headers: auth(fresh ?? '') })).status, 200);
});
