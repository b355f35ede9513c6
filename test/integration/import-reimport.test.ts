// Importing one's own export again, through `curt serve` on PGlite and on PostgreSQL: every row is
// `exists`, the expired, used, disabled and password-protected links too (each was refused, so
// `curt import` of its own export always exited 1). The same rows for another key, or into an empty
// instance, are still refused with their reasons and create nothing.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createCurtClient, type CurtClient, type ImportReportRow } from '../../src/client/curt-client.ts';
import { collect, split } from '../support/import-report.ts';
import { startTestServe } from '../support/serve.ts';
import { BROWSER_UA } from '../support/user-agents.ts';

/** `curt serve` on a fresh database of this kind: its address and a client with its admin key. */
async function serve(t: TestContext, kind: 'pglite' | 'postgres'): Promise<{ admin: CurtClient; address: string }> {
  const { client, address } = await startTestServe(t, { kind, label: 'reimport' });
  return { admin: client, address };
}

async function keyClient(admin: CurtClient, address: string, name: string): Promise<CurtClient> {
  const key = await admin.createApiKey({ name });
  return createCurtClient({ baseUrl: address, apiKey: key.key });
}

const REASONS = {
  expired: /^expires_at \S+ is in the past: an expired link is not imported/,
  used: /^A used link \(one-time, or its max_visits reached\) is not imported: it would redirect again\.$/,
  disabled: /^A disabled link is not imported/,
  password: /^A password-protected link is not imported: its password cannot be exported/,
};
type Kind = keyof typeof REASONS | 'ordinary';

/** The owner's links of every kind an import refuses as new, and ordinary ones: code → kind. */
async function makeLinks(owner: CurtClient): Promise<Map<string, Kind>> {
  const kinds = new Map<string, Kind>();
  kinds.set((await owner.shorten('https://example.com/plain', { alias: 'plainone' })).short_code, 'ordinary');
  kinds.set((await owner.shorten('https://example.com/plain-generated')).short_code, 'ordinary');
  kinds.set((await owner.shorten('https://example.com/tagged', { tags: ['web'], maxVisits: 3 })).short_code, 'ordinary');
  // Expired: created with a future expiry, then moved into the past (PATCH allows it: it expires at once).
  for (const [url, alias] of [['https://example.com/expired', 'expiredone'], ['https://example.com/expired-generated', undefined]] as const) {
    const link = await owner.shorten(url, { expiresAt: new Date(Date.now() + 86_400_000).toISOString(), ...(alias === undefined ? {} : { alias }) });
    await owner.update(link.short_code, { expiresAt: new Date(Date.now() - 60_000) });
    kinds.set(link.short_code, 'expired');
  }
  // Used: a one-time link visited once, and a link whose max_visits is reached.
  for (const [url, options] of [['https://example.com/once', { alias: 'oncelink', oneTime: true }], ['https://example.com/limited', { maxVisits: 1 }]] as const) {
    const link = await owner.shorten(url, options);
    // A browser's visit: a bot's (an HTTP library's too) gets a page that does not spend the visit.
    assert.equal((await owner.resolve(link.short_code, { userAgent: BROWSER_UA })).status, 302, 'the visit that uses the link up');
    kinds.set(link.short_code, 'used');
  }
  const disabled = await owner.shorten('https://example.com/disabled', { alias: 'offlink' });
  await owner.update(disabled.short_code, { isActive: false });
  kinds.set(disabled.short_code, 'disabled');
  kinds.set((await owner.shorten('https://example.com/secret', { alias: 'pwlink', password: 'correct horse battery' })).short_code, 'password');
  kinds.set((await owner.shorten('https://example.com/secret-generated', { password: 'correct horse battery' })).short_code, 'password');
  const states = new Map((await collect(owner.exportLinks())).map((l) => [l.short_code, l.has_password ? 'password' : l.state]));
  for (const [code, kind] of kinds) assert.equal(states.get(code), kind === 'ordinary' ? 'active' : kind, `${code} is ${kind}`);
  return kinds;
}

/** The kind of each row of an export, by its short_code. */
function rowKinds(rows: { short_code: string }[], kinds: Map<string, Kind>): Kind[] {
  return rows.map((r) => kinds.get(r.short_code) ?? assert.fail(`${r.short_code} is not one of the links made`));
}

/** Each refused kind's rows refused with its reason, and none of them created. */
function assertRefusedKinds(report: ImportReportRow[], kinds: Kind[], label: string): void {
  kinds.forEach((kind, i) => {
    const line = report[i];
    assert.equal(line?.row, i + 1, label);
    if (kind === 'ordinary') return;
    assert.equal(line?.status, 'refused', `${label}: row ${i + 1} (${kind}) ${JSON.stringify(line)}`);
    assert.match(line?.reason ?? '', REASONS[kind], `${label}: row ${i + 1} (${kind})`);
  });
}

for (const kind of ['pglite', 'postgres'] as const) {
  test(`an export imported again by its key is all exists, its expired, used, disabled and password-protected links too; another key, or an empty instance, still has those refused with their reasons and created (${kind})`, { timeout: 120_000 }, async (t) => {
    const { admin, address } = await serve(t, kind);
    const owner = await keyClient(admin, address, 'owner');
    const kinds = await makeLinks(owner);
    const csv = (await collect(owner.exportText('csv'))).join('');
    const ndjson = (await collect(owner.exportText('ndjson'))).join('');
    const exported = await collect(owner.exportLinks());
    const order = rowKinds(exported, kinds);
    const total = exported.length;
    const all = (exists: number) => ({ summary: true, rows: total, created: 0, exists, refused: 0 });

    // The same key, CSV and NDJSON: every row is the link it came from, nothing is made.
    for (const [type, body] of [['csv', csv], ['ndjson', ndjson]] as const) {
      const again = split(await collect(owner.importLinks(body, { type })));
      assert.deepEqual(again.summary, all(total), `${type}: ${JSON.stringify(again.rows.filter((r) => r.status !== 'exists'))}`);
      assert.deepEqual(again.rows.map((r) => r.short_code), exported.map((l) => l.short_code), `${type}: each row names its own link`);
    }
    // Without the codes (a sheet of url and the rest), the rule is (owner, target URL): the same.
    const sheet = exported.map(({ short_code: _code, ...rest }) => JSON.stringify(rest)).join('\n');
    const bySheet = split(await collect(owner.importLinks(`${sheet}\n`, { type: 'ndjson' })));
    assert.deepEqual(bySheet.summary, all(total), JSON.stringify(bySheet.rows.filter((r) => r.status !== 'exists')));
    assert.deepEqual(bySheet.rows.map((r) => r.short_code), exported.map((l) => l.short_code));
    // An admin's import counts any owner's link, as for the other rows.
    assert.deepEqual(split(await collect(admin.importLinks(csv))).summary, all(total));
    assert.equal((await collect(owner.exportLinks())).length, total, 'nothing was created');

    // Another key: the refused kinds keep their reasons (not "taken"), and are not created by URL either.
    const other = await keyClient(admin, address, 'other');
    const theirs = split(await collect(other.importLinks(csv)));
    assertRefusedKinds(theirs.rows, order, 'another key, with the codes');
    order.forEach((k, i) => {
      if (k === 'ordinary') assert.match(theirs.rows[i]?.reason ?? '', /is already taken by another link/);
    });
    assert.deepEqual(theirs.summary, { summary: true, rows: total, created: 0, exists: 0, refused: total });
    const theirSheet = split(await collect(other.importLinks(`${sheet}\n`, { type: 'ndjson' })));
    assertRefusedKinds(theirSheet.rows, order, 'another key, without the codes');
    const ordinary = order.filter((k) => k === 'ordinary').length;
    assert.deepEqual(theirSheet.summary, { summary: true, rows: total, created: ordinary, exists: 0, refused: total - ordinary });
    assert.deepEqual(
      (await collect(other.exportLinks())).map((l) => l.url).sort(),
      exported.filter((_, i) => order[i] === 'ordinary').map((l) => l.url).sort(),
      'only the ordinary links were created',
    );

    // An empty instance: the same.
    const empty = await serve(t, kind);
    const fresh = split(await collect(empty.admin.importLinks(csv)));
    assertRefusedKinds(fresh.rows, order, 'an empty instance');
    assert.deepEqual(fresh.summary, { summary: true, rows: total, created: ordinary, exists: 0, refused: total - ordinary });
    assert.deepEqual((await collect(empty.admin.exportLinks())).map((l) => l.short_code).sort(), exported.filter((_, i) => order[i] === 'ordinary').map((l) => l.short_code).sort());
    // Imported again there: the created rows exist, the refused ones are still refused.
    assert.deepEqual(split(await collect(empty.admin.importLinks(csv))).summary, { summary: true, rows: total, created: 0, exists: ordinary, refused: total - ordinary });
  });
}
