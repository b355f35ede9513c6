// The one-machine mode as the README tells a newcomer to use it: `npm start` with no configuration at
// all (the environment holds only PATH and HOME), then the `curt` command against it, end to end —
// shorten → redirect → stats → delete, export → import — and restarts, graceful and by SIGKILL, that keep every link,
// click and code. PostgreSQL and Redis may run on this machine; the server must not touch them.
//
// Where it runs: a fresh temporary folder that stands for the project checkout. It holds links to the
// repository's package.json and bin/, so `npm start` there runs the real start script with that
// folder as its working directory, and the default DATA_DIR (./data) lands in it, not in the
// repository. The liberties taken: `-- --port N`, a free port instead of 8080, which may be busy, and
// METRICS_PORT=0 (any free port) instead of 9464, for the same reason.
//
// A second test starts another such server with the one setting webhooks to a receiver on this
// machine need (WEBHOOK_ALLOW_PRIVATE=true) and drives `curt webhooks` end to end, checking the
// signatures as docs/webhooks.md tells a receiver to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { untilValue } from '../support/fault-probes.ts';
import { freePort, ROOT, runCommand, runCurt, type CommandResult } from '../support/processes.ts';
import { PERSON, PREVIEW_BOT_UA } from '../support/user-agents.ts';
import { startWebhookReceiver, type ReceivedWebhook } from '../support/webhook-receiver.ts';

const run = promisify(execFile);
const ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', METRICS_PORT: '0' };

interface Server {
  child: ChildProcess;
  output(): string;
}

/** `npm start` in `dir`, in a process group of its own, once it has printed its summary. */
async function npmStart(dir: string, port: number, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn('npm', ['start', '--', '--port', String(port)], { cwd: dir, env: { ...ENV, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('Create a link:')) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      await stop({ child, output: () => output }, 'SIGKILL');
      throw new Error(`npm start printed no summary:\n${output}`);
    }
    await sleep(50);
  }
  return { child, output: () => output };
}

/** Signals the whole group (npm, its shell, node), as Ctrl-C in a terminal does; resolves on exit. */
async function stop(server: Server, signal: NodeJS.Signals): Promise<number | null> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.child.exitCode;
  const exited = once(server.child, 'exit');
  if (server.child.pid !== undefined) process.kill(-server.child.pid, signal);
  const [code] = (await exited) as [number | null];
  return code;
}

/** Ctrl-C; the server has shut down cleanly when it has released the data folder. */
async function stopGracefully(server: Server, dir: string): Promise<void> {
  await stop(server, 'SIGINT');
  await untilValue('the data folder to be released', async () => (existsSync(join(dir, 'data', 'curt.pid')) ? undefined : true), 10_000);
  assert.doesNotMatch(server.output(), /"level":"(error|fatal)"|shutdown failed/);
}

/** The `curt` command, run in the project folder with only PATH, HOME and the given variables. */
function curt(dir: string, args: string[], env: Record<string, string>, via: 'npx' | 'node' = 'node'): Promise<CommandResult> {
  const options = { cwd: dir, env: { ...ENV, ...env } };
  return via === 'npx' ? runCommand('npx', ['curt', ...args], options) : runCurt(args, options);
}

/** `curt` with `input` on its standard input (a password for --password-stdin). */
const curtWithInput = (dir: string, args: string[], env: Record<string, string>, input: string): Promise<CommandResult> => runCurt(args, { cwd: dir, env: { ...ENV, ...env }, input });

/**
 * The remote ports of the TCP connections that process `pid` holds (Linux /proc): its socket
 * descriptors, looked up in the kernel's connection tables. Other tests may talk to PostgreSQL and
 * Redis meanwhile; only this process's own sockets count.
 */
/**
 * A receiver's check of a webhook, written from docs/webhooks.md ("Signatures") rather than taken from
 * Curt's code: HMAC-SHA256 of "id.timestamp.body" keyed with the secret's bytes, a recent timestamp.
 */
function signedWith(secret: string, hook: ReceivedWebhook): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const id = String(hook.headers['webhook-id']);
  const ts = String(hook.headers['webhook-timestamp']);
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = Buffer.from(`v1,${createHmac('sha256', key).update(`${id}.${ts}.${hook.body}`).digest('base64')}`);
  return String(hook.headers['webhook-signature'])
    .split(' ')
    .some((sig) => {
      const given = Buffer.from(sig);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

async function remotePortsOf(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const lines = (await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const columns = line.trim().split(/\s+/);
      const [remote, inode] = [columns[2], columns[9]];
      if (remote !== undefined && inode !== undefined && inodes.has(inode)) ports.push(parseInt(remote.split(':')[1] ?? '0', 16));
    }
  }
  return ports;
}

test('npm start with no configuration serves links to the curt CLI, and keeps them across restarts and a SIGKILL', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'curt-one-machine-'));
  await symlink(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'bin'), join(dir, 'bin'));
  const port = await freePort();
  const server = `http://127.0.0.1:${port}`;
  const cli = { CURT_SERVER: server };
  let current: Server | null = null;
  t.after(async () => {
    if (current) await stop(current, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  // First start: a summary with where it listens, where the data is, how to make a link, and the admin key.
  current = await npmStart(dir, port);
  const summary = current.output();
  assert.match(summary, new RegExp(`Curt is running on ${server}`));
  assert.ok(summary.includes(join(dir, 'data')), summary);
  assert.match(summary, /npx curt shorten https:\/\/example\.com/);
  const adminKey = /Admin API key[^\n]*\n\s+(curt_\S+)/.exec(summary)?.[1];
  assert.ok(adminKey, summary);
  const admin = { ...cli, CURT_API_KEY: adminKey };
  const serverPid = Number((await readFile(join(dir, 'data', 'curt.pid'), 'utf8')).split('\n')[0]);
  const ports = await remotePortsOf(serverPid);
  assert.ok(!ports.includes(5432) && !ports.includes(6379), `no connection to PostgreSQL or Redis (remote ports: ${ports.join(', ')})`);
  const ready = (await (await fetch(`${server}/ready`)).json()) as { status: string; checks: Record<string, string> };
  assert.deepEqual(ready, { status: 'ready', checks: { postgres: 'up', redis: 'in_process', kgs: 'up' } });

  // shorten, as the README shows it (anonymous creation is on in this mode).
  const first = await curt(dir, ['shorten', 'https://example.com/one-machine'], cli, 'npx');
  assert.equal(first.code, 0, first.stderr);
  const code = new RegExp(`Short URL\\s+http://localhost:${port}/([A-Za-z]{6})\\n`).exec(first.stdout)?.[1];
  assert.ok(code, first.stdout);
  const alias = await curt(dir, ['shorten', 'https://example.com/launch', '--alias', 'launch', '--expires-in', '7d', '--json'], cli);
  assert.equal(alias.code, 0, alias.stderr);
  assert.equal((JSON.parse(alias.stdout) as { short_code: string }).short_code, 'launch');
  const taken = await curt(dir, ['shorten', 'https://example.com/x', '--alias', 'launch'], cli);
  assert.deepEqual([taken.code, taken.stderr.trim().split('\n').length], [1, 1]);
  assert.match(taken.stderr, /^curt: "launch" is already taken \(alias_taken, HTTP 409\)/);

  // redirect, then the click shows in stats once flushed.
  const redirect = await fetch(`${server}/${code}`, { redirect: 'manual', headers: { ...PERSON, referer: 'https://news.example/post' } });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get('location'), 'https://example.com/one-machine');
  const stats = await untilValue('the click in stats', async () => {
    const result = await curt(dir, ['stats', code, '--json'], cli);
    const parsed = JSON.parse(result.stdout) as { clicks: number; referrers: { host: string }[] };
    return parsed.clicks === 1 ? parsed : undefined;
  }, 10_000);
  assert.deepEqual(stats.referrers.map((r) => r.host), ['news.example']);
  const human = await curt(dir, ['stats', code], cli);
  assert.match(human.stdout, /Clicks\s+1\n/);

  // edit: disabled, the link answers 410; enabled with a new target, it leads there.
  const disabled = await curt(dir, ['edit', 'launch', '--disable'], admin);
  assert.match(disabled.stdout, /State\s+disabled\n/);
  assert.equal((await fetch(`${server}/launch`, { redirect: 'manual', headers: PERSON })).status, 410);
  const edited = JSON.parse((await curt(dir, ['edit', 'launch', '--enable', '--url', 'https://example.com/relaunch', '--no-expiry', '--json'], admin)).stdout) as { state: string; expires_at: string | null };
  assert.deepEqual([edited.state, edited.expires_at], ['active', null]);
  assert.equal((await fetch(`${server}/launch`, { redirect: 'manual', headers: PERSON })).headers.get('location'), 'https://example.com/relaunch');

  // A visit limit: two redirects, then 410; a bot's preview in between uses none. Stats show the visits.
  const limited = await curt(dir, ['shorten', 'https://example.com/twice', '--max-visits', '2'], cli);
  assert.equal(limited.code, 0, limited.stderr);
  assert.match(limited.stdout, /Visits\s+0 of 2\n/);
  const twice = new RegExp(`Short URL\\s+http://localhost:${port}/([A-Za-z]{6})\\n`).exec(limited.stdout)?.[1];
  assert.ok(twice, limited.stdout);
  const visit = async (path: string, headers: Record<string, string> = PERSON) => fetch(`${server}${path}`, { redirect: 'manual', headers });
  assert.equal((await visit(`/${twice}`, { 'user-agent': PREVIEW_BOT_UA })).status, 200, 'a link preview gets the page');
  assert.deepEqual([(await visit(`/${twice}`)).status, (await visit(`/${twice}`)).status, (await visit(`/${twice}`)).status], [302, 302, 410]);
  assert.match((await curt(dir, ['stats', twice], cli)).stdout, /State\s+used\n[\s\S]*Visits\s+2 of 2\n/);
  const raised = await curt(dir, ['edit', twice, '--max-visits', '3'], admin);
  assert.match(raised.stdout, /State\s+active\n[\s\S]*Visits\s+2 of 3\n/);
  assert.equal((await visit(`/${twice}`)).status, 302);

  // Query forwarding: the short link's utm_source reaches the target, beside the target's own query.
  const forwarding = JSON.parse((await curt(dir, ['shorten', 'https://example.com/landing?ref=1', '--forward-query', '--json'], cli)).stdout) as { short_code: string; forward_query: boolean };
  assert.equal(forwarding.forward_query, true);
  assert.equal((await visit(`/${forwarding.short_code}?utm_source=newsletter`)).headers.get('location'), 'https://example.com/landing?ref=1&utm_source=newsletter');
  const off = await curt(dir, ['edit', forwarding.short_code, '--no-forward-query'], admin);
  assert.match(off.stdout, /Forward query\s+no$/m);
  assert.equal((await visit(`/${forwarding.short_code}?utm_source=newsletter`)).headers.get('location'), 'https://example.com/landing?ref=1');

  // delete: an anonymous link needs the admin key.
  const refused = await curt(dir, ['delete', 'launch'], cli);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /CURT_API_KEY/);
  assert.equal((await curt(dir, ['delete', 'launch'], admin)).stdout, 'Deleted launch.\n');
  assert.equal((await fetch(`${server}/launch`, { redirect: 'manual', headers: PERSON })).status, 404);

  // Graceful restart (Ctrl-C): everything is still there, and no second admin key is made.
  await stopGracefully(current, dir);
  current = await npmStart(dir, port);
  assert.doesNotMatch(current.output(), /Admin API key/);
  const kept = JSON.parse((await curt(dir, ['stats', code, '--json'], cli)).stdout) as { clicks: number; original_url: string };
  assert.deepEqual([kept.clicks, kept.original_url], [1, 'https://example.com/one-machine']);
  assert.equal((await fetch(`${server}/launch`, { redirect: 'manual', headers: PERSON })).status, 404);
  const second = JSON.parse((await curt(dir, ['shorten', 'https://example.com/second', '--json'], cli)).stdout) as { short_code: string };
  assert.notEqual(second.short_code, code);

  // SIGKILL, then start again: what was answered before the kill is still there.
  await stop(current, 'SIGKILL');
  current = await npmStart(dir, port);
  const listed = JSON.parse((await curt(dir, ['list', '--json'], admin)).stdout) as { items: { short_code: string }[] };
  assert.deepEqual(listed.items.map((l) => l.short_code), [second.short_code, forwarding.short_code, twice, code]);
  const table = await curt(dir, ['list'], admin);
  assert.match(table.stdout, /^CODE\s+STATE\s+CLICKS\s+VISITS\s+CREATED\s+EXPIRES\s+TAGS\s+TARGET\n/);
  assert.match(table.stdout, new RegExp(`\\n${twice}\\s+used\\s+\\d+\\s+3/3\\s`), 'its visits kept across the SIGKILL');
  const third = JSON.parse((await curt(dir, ['shorten', 'https://example.com/third', '--json'], cli)).stdout) as { short_code: string };
  assert.ok(![code, second.short_code].includes(third.short_code), 'no code handed out twice across restarts');

  // A password, from standard input (never the command line): the link asks for it, then opens with it.
  const inArgv = await curt(dir, ['shorten', 'https://example.com/locked', '--password', 'hunter22'], cli);
  assert.equal(inArgv.code, 2);
  assert.match(inArgv.stderr, /--password takes no value/);
  const locked = await curtWithInput(dir, ['shorten', 'https://example.com/locked', '--password-stdin', '--json'], cli, 'open sesame 🔑\nnot read\n');
  assert.equal(locked.code, 0, locked.stderr);
  const lockedLink = JSON.parse(locked.stdout) as { short_code: string; has_password: boolean };
  assert.equal(lockedLink.has_password, true);
  assert.doesNotMatch(locked.stdout, /sesame/);
  const lockedUrl = `${server}/${lockedLink.short_code}`;
  assert.equal((await fetch(lockedUrl, { redirect: 'manual', headers: PERSON })).status, 401);
  const basic = `Basic ${Buffer.from(':open sesame 🔑').toString('base64')}`;
  const opened = await fetch(lockedUrl, { redirect: 'manual', headers: { ...PERSON, authorization: basic } });
  assert.deepEqual([opened.status, opened.headers.get('location')], [302, 'https://example.com/locked']);
  const form = await fetch(lockedUrl, { method: 'POST', redirect: 'manual', headers: { ...PERSON, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body: 'password=wrong+password' });
  assert.equal(form.status, 401);
  assert.match(await form.text(), /<form method="post">/);
  const shown = await curtWithInput(dir, ['edit', lockedLink.short_code, '--password-stdin'], admin, '');
  assert.equal(shown.code, 2, 'an empty standard input is no password');
  const unlocked = await curt(dir, ['edit', lockedLink.short_code, '--no-password', '--json'], admin);
  assert.equal((JSON.parse(unlocked.stdout) as { has_password: boolean }).has_password, false);
  assert.equal((await fetch(lockedUrl, { redirect: 'manual', headers: PERSON })).status, 302);
  // Tags: shortened with tags (kept lower case), listed by tag, sorted, retagged.
  const tagged = await curt(dir, ['shorten', 'https://example.com/tagged', '--tag', 'Launch', '--tag', 'web,q3/2026'], cli);
  assert.equal(tagged.code, 0, tagged.stderr);
  assert.match(tagged.stdout, /^Tags\s+launch, q3\/2026, web$/m);
  const taggedCode = new RegExp(`Short URL\\s+http://localhost:${port}/([A-Za-z]{6})\\n`).exec(tagged.stdout)?.[1];
  assert.ok(taggedCode, tagged.stdout);
  const byTag = JSON.parse((await curt(dir, ['list', '--tag', 'launch', '--tag', 'WEB', '--sort', 'clicks', '--order', 'asc', '--json'], admin)).stdout) as { items: { short_code: string; tags: string[] }[] };
  assert.deepEqual(byTag.items, [{ ...byTag.items[0], short_code: taggedCode, tags: ['launch', 'q3/2026', 'web'] }]);
  const byTagTable = await curt(dir, ['list', '--tag', 'launch'], admin);
  assert.match(byTagTable.stdout, new RegExp(`^${taggedCode}\\s+active\\s+0\\s.*launch,q3/2026,web\\s+https://example\\.com/tagged$`, 'm'));
  assert.equal((await curt(dir, ['edit', taggedCode, '--tags', 'other'], admin)).code, 0);
  assert.equal((await curt(dir, ['list', '--tag', 'launch'], admin)).stdout, 'No links.\n');
  // Its QR code through the CLI: a PNG of the size asked for in a file, an SVG on standard output.
  const saved = await curt(dir, ['qr', taggedCode, '-o', 'tagged.png', '--size', '300'], admin);
  assert.equal(saved.code, 0, saved.stderr);
  const png = await readFile(join(dir, 'tagged.png'));
  assert.deepEqual([png.subarray(1, 4).toString(), png.readUInt32BE(16), png.readUInt32BE(20)], ['PNG', 300, 300]);
  const svg = await curt(dir, ['qr', taggedCode], admin);
  assert.match(svg.stdout, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  // Standard output that fails (a full disk) ends the command with one line, not Node's stack.
  const full = await run('sh', ['-c', `"${process.execPath}" bin/curt.mjs qr ${taggedCode} > /dev/full`], { cwd: dir, env: { ...ENV, ...admin } }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
  assert.deepEqual(full, { code: 1, stderr: 'curt: cannot write to standard output (no space left on the device)\n' });
  // Made without a key, the link is anonymous: its QR code needs none (a keyed link's: its key, as its details do).
  assert.equal((await curt(dir, ['qr', taggedCode], cli)).code, 0);
  const keyed = JSON.parse((await curt(dir, ['shorten', 'https://example.com/keyed-qr', '--json'], admin)).stdout) as { short_code: string };
  const refusedQr = await curt(dir, ['qr', keyed.short_code, '-o', 'keyed.svg'], cli);
  assert.deepEqual([refusedQr.code, refusedQr.stderr], [1, 'curt: An API key is required (unauthorized, HTTP 401). Pass --api-key or set CURT_API_KEY.\n']);
  const badSort = await curt(dir, ['list', '--sort', 'popular'], admin);
  assert.equal(badSort.code, 2, badSort.stderr);

  // Text search: a text of the targets, in another letter case, finds those three links (newest
  // first) and none of the others (example.com/one-machine, /second, /landing, /locked).
  const searched = await curt(dir, ['list', '--search', 'EXAMPLE.com/T', '--json'], admin);
  assert.equal(searched.code, 0, searched.stderr);
  const found = (JSON.parse(searched.stdout) as { items: { short_code: string; created_at: string }[] }).items;
  assert.deepEqual(found.map((l) => l.short_code), [taggedCode, third.short_code, twice]);
  // Under 3 characters the search cannot use its index (docs/listing.md, "Text search"): a usage
  // error in the flag's words, exit 2, before any request.
  const tooShort = await curt(dir, ['list', '--search', 'ex'], admin);
  assert.deepEqual([tooShort.code, tooShort.stdout], [2, ''], tooShort.stderr);
  assert.match(tooShort.stderr, /--search needs at least 3 characters \(got 2\)/);
  // A created range from the third link's created_at (included) to the tagged one's (not included):
  // the third and the locked one made between them, nothing before or after.
  const [thirdAt, taggedAt] = [found[1]?.created_at, found[0]?.created_at];
  assert.ok(thirdAt && taggedAt, searched.stdout);
  const ranged = await curt(dir, ['list', '--created-after', thirdAt, '--created-before', taggedAt, '--json'], admin);
  assert.equal(ranged.code, 0, ranged.stderr);
  assert.deepEqual((JSON.parse(ranged.stdout) as { items: { short_code: string }[] }).items.map((l) => l.short_code), [lockedLink.short_code, third.short_code]);
  assert.equal((await curt(dir, ['list', '--created-before', '2000-01-01'], admin)).stdout, 'No links.\n', 'a day, as the flag takes it');

  // Import and export through the CLI, with a key of its own (an import's links are its key's):
  // `curt export > file`, then that file into the same server, where every row exists already.
  const made = await curt(dir, ['keys', 'create', '--name', 'porting', '--json'], admin);
  assert.equal(made.code, 0, made.stderr);
  // For people: the key once, and the id that `keys revoke` takes, which `keys list` shows beside it.
  const keyShown = await curt(dir, ['keys', 'create', '--name', 'shown'], admin);
  const shownId = /^Id\s+(\d+)$/m.exec(keyShown.stdout)?.[1];
  assert.ok(shownId !== undefined, keyShown.stdout);
  assert.match(keyShown.stdout, new RegExp(`Revoke it with: curt keys revoke ${shownId}$`, 'm'));
  assert.match((await curt(dir, ['keys', 'list'], admin)).stdout, new RegExp(`^\\s*${shownId}\\s+\\S+\\s+shown\\s`, 'm'));
  const mine = { ...cli, CURT_API_KEY: (JSON.parse(made.stdout) as { key: string }).key };
  for (const args of [['https://example.com/ported', '--alias', 'ported', '--expires-in', '7d'], ['https://example.com/ported?b=1,2']]) {
    assert.equal((await curt(dir, ['shorten', ...args], mine)).code, 0);
  }
  await run('sh', ['-c', `"${process.execPath}" bin/curt.mjs export > links.csv`], { cwd: dir, env: { ...ENV, ...mine } });
  const file = await readFile(join(dir, 'links.csv'), 'utf8');
  assert.match(file, /^short_code,url,created_at,expires_at,is_one_time,max_visits,visits,forward_query,is_active,state,clicks,bot_hits,last_clicked_at,tags,has_password\r\n/);
  assert.equal(file.trimEnd().split('\r\n').length, 3, file);
  assert.match(file, /\r\nported,https:\/\/example\.com\/ported,/);
  const back = await curt(dir, ['import', 'links.csv', '--json'], mine);
  assert.equal(back.code, 0, back.stderr);
  const report = back.stdout.trim().split('\n').map((line) => JSON.parse(line) as { status?: string });
  assert.deepEqual(report.map((line) => line.status ?? line), ['exists', 'exists', { summary: true, rows: 2, created: 0, exists: 2, refused: 0 }]);
  const again = await curt(dir, ['import', 'links.csv'], mine);
  assert.deepEqual([again.code, again.stdout], [0, '2 rows: 0 created, 2 already there, 0 refused.\n'], again.stderr);

  // A small sheet of another shape: a new alias is created, a bad row refused with its reason, and
  // the exit code says a row was left out.
  await writeFile(join(dir, 'sheet.csv'), 'alias,url,notes\r\nimported1,https://example.com/imported,first\r\nbadrow,not a url,second\r\n');
  const sheet = await curt(dir, ['import', 'sheet.csv'], mine);
  assert.equal(sheet.code, 1, sheet.stderr);
  assert.match(sheet.stdout, /^row 2: refused: .+\(invalid_url\)\n2 rows: 1 created, 0 already there, 1 refused\.\n$/);
  const imported = await fetch(`${server}/imported1`, { redirect: 'manual', headers: PERSON });
  assert.deepEqual([imported.status, imported.headers.get('location')], [302, 'https://example.com/imported']);
  // A file that is not there: one line, the usage error's exit code, nothing sent.
  const missing = await curt(dir, ['import', 'missing.csv'], mine);
  assert.deepEqual([missing.code, missing.stdout, missing.stderr.trim().split('\n').length], [2, '', 1]);
  assert.match(missing.stderr, /^curt: cannot read missing\.csv: no such file/);
  await stopGracefully(current, dir);
  current = null;
});

test('curt webhooks against npm start: add (the secret printed once), a link made and followed reaches the receiver as link.created and a link.clicked batch, both signed; deliveries lists them; disable, enable; rm', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'curt-one-machine-webhooks-'));
  await symlink(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'bin'), join(dir, 'bin'));
  const receiver = await startWebhookReceiver();
  const port = await freePort();
  const server = `http://127.0.0.1:${port}`;
  let current: Server | null = null;
  t.after(async () => {
    if (current) await stop(current, 'SIGKILL');
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The one setting this needs: the receiver is on 127.0.0.1, which Curt refuses by default.
  current = await npmStart(dir, port, { WEBHOOK_ALLOW_PRIVATE: 'true' });
  const adminKey = /Admin API key[^\n]*\n\s+(curt_\S+)/.exec(current.output())?.[1];
  assert.ok(adminKey, current.output());
  const admin = { CURT_SERVER: server, CURT_API_KEY: adminKey };

  const added = await curt(dir, ['webhooks', 'add', receiver.url, '--events', 'link.created,link.clicked'], admin);
  assert.equal(added.code, 0, added.stderr);
  const id = /^Webhook (\d+): (\S+)\n/.exec(added.stdout);
  assert.equal(id?.[2], receiver.url, added.stdout);
  assert.match(added.stdout, /^ {2}events: link\.created, link\.clicked\n {2}state: {2}active\n/m);
  const secret = /^ {2}secret: (whsec_\S+)\n {2}\(shown once/m.exec(added.stdout)?.[1];
  assert.ok(secret, added.stdout);
  assert.equal(added.stdout.split(secret).length, 2, 'the secret is printed once');
  const hookId = id?.[1] ?? '';
  const listed = await curt(dir, ['webhooks', 'list'], admin);
  assert.match(listed.stdout, new RegExp(`^\\s*${hookId}\\s+${receiver.url.replace(/[.]/g, '\\.')}\\s+link\\.created,link\\.clicked\\s+active\\s+0\\s+\\d{4}-`, 'm'));
  assert.ok(!listed.stdout.includes(secret), 'and never again');

  // A link, followed by a person's browser: one link.created, then (at the next click flush) a link.clicked.
  const made = JSON.parse((await curt(dir, ['shorten', 'https://example.com/hooked', '--json'], admin)).stdout) as { short_code: string; short_url: string };
  const redirect = await fetch(`${server}/${made.short_code}`, { redirect: 'manual', headers: PERSON });
  assert.equal(redirect.status, 302);
  const received = await receiver.waitFor(2, 15_000);
  // Curt promises no order (docs/webhooks.md): each is found by its type.
  assert.deepEqual(received.map((h) => h.json.type).sort(), ['link.clicked', 'link.created']);
  const ofType = (type: string) => received.find((h) => h.json.type === type) as ReceivedWebhook;
  const [created, clicked] = [ofType('link.created'), ofType('link.clicked')];
  assert.equal(created.json.data.short_code, made.short_code);
  assert.equal(created.json.data.original_url, 'https://example.com/hooked');
  assert.deepEqual(clicked.json.data, { links: [{ short_code: made.short_code, short_url: made.short_url, clicks: 1 }], clicks: 1 });
  for (const hook of received) {
    assert.equal(hook.headers['content-type'], 'application/json');
    assert.ok(signedWith(secret, hook), `${hook.json.type} is signed with the secret`);
    assert.ok(!signedWith(secret, { ...hook, body: hook.body.replace('"clicks":1', '"clicks":2').replace('hooked', 'hacked') }), 'and a changed body is not');
  }
  assert.notEqual(created.headers['webhook-id'], clicked.headers['webhook-id']);

  // The delivery log: both events, delivered at the first attempt (204), newest first.
  const log = await untilValue('both deliveries recorded', async () => {
    const result = await curt(dir, ['webhooks', 'deliveries', hookId], admin);
    return (result.stdout.match(/ delivered /g) ?? []).length === 2 ? result.stdout : undefined;
  }, 10_000);
  const rows = log.split('\n');
  assert.match(rows[0] ?? '', /^EVENT\s+TYPE\s+STATE\s+ATTEMPTS\s+LAST\s+CREATED$/);
  assert.match(rows[1] ?? '', new RegExp(`^${String(clicked.headers['webhook-id'])}\\s+link\\.clicked\\s+delivered\\s+1\\s+204\\s`));
  assert.match(rows[2] ?? '', new RegExp(`^${String(created.headers['webhook-id'])}\\s+link\\.created\\s+delivered\\s+1\\s+204\\s`));

  // disable: a new link sends nothing; enable (as after disabled_failing): the next one is sent.
  assert.match((await curt(dir, ['webhooks', 'disable', hookId], admin)).stdout, new RegExp(`^Webhook ${hookId}: .*\n {2}events: .*\n {2}state: {2}disabled\n`));
  assert.equal((await curt(dir, ['shorten', 'https://example.com/while-disabled'], admin)).code, 0);
  await sleep(1500);
  assert.equal(receiver.received.length, 2, 'nothing sent while disabled');
  assert.match((await curt(dir, ['webhooks', 'enable', hookId], admin)).stdout, /^ {2}state: {2}active$/m);
  const afterEnable = JSON.parse((await curt(dir, ['shorten', 'https://example.com/enabled-again', '--json'], admin)).stdout) as { short_code: string };
  const third = await receiver.waitFor(3, 15_000);
  assert.equal(third[2]?.json.data.short_code, afterEnable.short_code, 'sent again once enabled');

  // rm: gone from the list, and a new link sends nothing.
  assert.equal((await curt(dir, ['webhooks', 'rm', hookId], admin)).stdout, `Deleted webhook ${hookId}.\n`);
  assert.equal((await curt(dir, ['webhooks', 'list'], admin)).stdout, 'No webhook endpoints.\n');
  const gone = await curt(dir, ['webhooks', 'deliveries', hookId], admin);
  assert.equal(gone.code, 1);
  assert.equal((await curt(dir, ['shorten', 'https://example.com/after-rm'], admin)).code, 0);
  await sleep(1500);
  assert.equal(receiver.received.length, 3, 'no event after rm');
  await stopGracefully(current, dir);
  current = null;
});
