// Country of a click: a trusted proxy's header first, then the address in the bundled database
// (geo-whois-asn-country) or an operator's MaxMind file. Addresses checked against the bundled file itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countryCode, countryOfRecord, DEFAULT_GEOIP_DB, openCountryResolver, publicAddress } from '../../src/analytics/country.ts';
import { UNKNOWN } from '../../src/analytics/user-agent.ts';

const METADATA_MARKER = Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1');
const bundled = await openCountryResolver({ dbPath: DEFAULT_GEOIP_DB });
const byAddress = (address: string | undefined): string => bundled.country({ address, header: undefined });

/** A scratch directory for database files, removed afterwards. */
async function withScratch(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'curt-country-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a valid country header wins over the address, in any case, upper-cased', () => {
  assert.equal(bundled.country({ address: '8.8.8.8', header: 'GB' }), 'GB');
  assert.equal(bundled.country({ address: '8.8.8.8', header: 'de' }), 'DE');
  assert.equal(bundled.country({ address: undefined, header: 'Fr' }), 'FR');
  assert.equal(bundled.country({ address: '127.0.0.1', header: 'XK' }), 'XK', 'Kosovo, user-assigned but used by Cloudflare and MaxMind');
});

test("Cloudflare's XX (unknown) and T1 (Tor), other user-assigned codes and garbage fall back to the address", () => {
  for (const header of ['XX', 'xx', 'T1', 'ZZ', 'AA', 'QM', '', ' ', 'USA', 'U', '12', 'U$', 'ü1', 'GB,FR']) {
    assert.equal(bundled.country({ address: '8.8.8.8', header }), 'US', JSON.stringify(header));
    assert.equal(bundled.country({ address: undefined, header }), UNKNOWN, JSON.stringify(header));
  }
});

test('public IPv4 and IPv6 addresses resolve through the bundled database', () => {
  assert.equal(byAddress('8.8.8.8'), 'US');
  assert.equal(byAddress('81.2.69.160'), 'GB');
  assert.equal(byAddress('2a00:1450:4001:81b::200e'), 'IE');
  assert.equal(byAddress('2A00:1450:4001:081B:0:0:0:200E'), 'IE', 'any spelling of the same address');
});

test('an IPv4-mapped IPv6 address (a dual-stack socket) is looked up as IPv4, however it is spelt', () => {
  assert.equal(byAddress('::ffff:8.8.8.8'), 'US');
  assert.equal(byAddress('::FFFF:81.2.69.160'), 'GB');
  assert.equal(byAddress('::ffff:5102:45a0'), 'GB', '81.2.69.160 in hexadecimal');
  assert.equal(byAddress('0:0:0:0:0:ffff:808:808'), 'US');
  assert.equal(byAddress('::ffff:127.0.0.1'), UNKNOWN);
});

test('loopback, private and other non-public addresses have no country, though the database maps some of them', () => {
  // The bundled file has records for these: 192.168.0.0/16 and 172.16.0.0/12 read "AU", 2001:db8::/32 "JP".
  for (const address of ['192.168.1.10', '172.16.5.4', '203.0.113.7', '198.51.100.1', '2001:db8::1']) {
    assert.equal(byAddress(address), UNKNOWN, address);
  }
  for (const address of ['127.0.0.1', '10.1.2.3', '100.64.0.1', '169.254.169.254', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1']) {
    assert.equal(byAddress(address), UNKNOWN, address);
  }
});

test('garbage, an over-long string or no address at all: unknown, never an exception', () => {
  for (const address of [undefined, '', 'not-an-ip', '999.1.1.1', '1.2.3', '01.2.3.4', '8.8.8.8:443', '[2a00:1450:4001:81b::200e]', 'localhost', '::ffff:999.1.1.1', '1::2::3', `8.8.8.8${' '.repeat(100)}x`, 'x'.repeat(10_000)]) {
    assert.equal(byAddress(address), UNKNOWN, JSON.stringify(address?.slice(0, 40)));
  }
});

test('publicAddress: the address to look up, IPv4-mapped as IPv4, or null', () => {
  assert.deepEqual(publicAddress(' 8.8.8.8 '), { address: '8.8.8.8', family: 4 });
  assert.deepEqual(publicAddress('::ffff:8.8.4.4'), { address: '8.8.4.4', family: 4 });
  assert.deepEqual(publicAddress('2a00:1450:4001:81b::200e'), { address: '2a00:1450:4001:81b::200e', family: 6 });
  assert.equal(publicAddress('192.168.0.1'), null);
  assert.equal(publicAddress('nonsense'), null);
});

test('a cached answer is the same answer, and many distinct addresses through a small cache still answer right', async () => {
  const resolver = await openCountryResolver({ dbPath: DEFAULT_GEOIP_DB, cacheMax: 16 });
  const input = { address: '81.2.69.160', header: undefined };
  assert.equal(resolver.country(input), 'GB');
  assert.equal(resolver.country(input), 'GB');
  for (let i = 0; i < 5_000; i += 1) resolver.country({ address: `8.8.${i >> 8}.${i & 0xff}`, header: undefined });
  assert.equal(resolver.country(input), 'GB', 'evicted, looked up again');
  assert.equal(resolver.country({ address: '8.8.8.8', header: undefined }), 'US');
});

test('dbPath null: the header alone decides', async () => {
  const headerOnly = await openCountryResolver({ dbPath: null });
  assert.equal(headerOnly.country({ address: '8.8.8.8', header: 'nl' }), 'NL');
  assert.equal(headerOnly.country({ address: '8.8.8.8', header: 'XX' }), UNKNOWN);
  assert.equal(headerOnly.country({ address: '8.8.8.8', header: undefined }), UNKNOWN);
});

test('a missing file, a directory or a file that is not an MMDB fails at open with an error that says so', async () => {
  await withScratch(async (dir) => {
    await assert.rejects(openCountryResolver({ dbPath: join(dir, 'absent.mmdb') }), /GeoIP database .*absent\.mmdb cannot be read: ENOENT/);
    await assert.rejects(openCountryResolver({ dbPath: dir }), /GeoIP database .* cannot be read: EISDIR/);
    const notMmdb = join(dir, 'countries.csv');
    await writeFile(notMmdb, '1.0.0.0,1.0.0.255,AU\n');
    await assert.rejects(openCountryResolver({ dbPath: notMmdb }), /GeoIP database .*countries\.csv is not a MaxMind DB \(MMDB\) file/);
    const empty = join(dir, 'empty.mmdb');
    await writeFile(empty, '');
    await assert.rejects(openCountryResolver({ dbPath: empty }), /is not a MaxMind DB \(MMDB\) file/);
    const badMetadata = join(dir, 'bad-metadata.mmdb');
    await writeFile(badMetadata, Buffer.concat([Buffer.alloc(64), METADATA_MARKER, Buffer.from([0xff, 0xff])]));
    await assert.rejects(openCountryResolver({ dbPath: badMetadata }), /bad-metadata\.mmdb is not a readable MaxMind DB \(MMDB\) file: /);
  });
});

test('cacheMax must be a positive integer', async () => {
  await assert.rejects(openCountryResolver({ dbPath: DEFAULT_GEOIP_DB, cacheMax: 0 }), RangeError);
  await assert.rejects(openCountryResolver({ dbPath: DEFAULT_GEOIP_DB, cacheMax: 2.5 }), RangeError);
});

test('records: this package\'s { country_code }, MaxMind\'s { country: { iso_code } }, then registered_country', () => {
  assert.equal(countryOfRecord({ country_code: 'US' }), 'US');
  assert.equal(countryOfRecord({ country_code: 'us' }), 'US');
  assert.equal(countryOfRecord({ country: { iso_code: 'DE', names: { en: 'Germany' } }, registered_country: { iso_code: 'FR' } }), 'DE');
  assert.equal(countryOfRecord({ continent: { code: 'EU' }, registered_country: { iso_code: 'FR' } }), 'FR');
  assert.equal(countryOfRecord({ country: { iso_code: 42 }, registered_country: { iso_code: 'FR' } }), 'FR');
  for (const record of [null, undefined, 'US', 42, {}, { country: 'US' }, { country_code: 'USA' }, { country: null }, { continent: { code: 'EU' } }]) {
    assert.equal(countryOfRecord(record), UNKNOWN, JSON.stringify(record));
  }
});

test('countryCode: two ASCII letters, not user-assigned (XK excepted), upper-cased', () => {
  assert.equal(countryCode('se'), 'SE');
  assert.equal(countryCode(' jp '), 'JP');
  assert.equal(countryCode('XK'), 'XK');
  for (const value of ['XX', 'XA', 'QZ', 'AA', 'ZZ', 'T1', 'A1', 'EUR', '', undefined, null, 7]) assert.equal(countryCode(value), null, String(value));
});

test("an operator's MaxMind-format database: country, else registered_country; an IPv4-only file answers no IPv6", async () => {
  await withScratch(async (dir) => {
    const dbPath = join(dir, 'GeoLite2-Country-Test.mmdb');
    await writeFile(dbPath, maxMindCountryDatabase(GERMANY, REGISTERED_IN_FRANCE));
    const maxMind = await openCountryResolver({ dbPath });
    assert.equal(maxMind.country({ address: '81.2.69.160', header: undefined }), 'DE', '0.0.0.0/1: { country: { iso_code: "DE" } }');
    assert.equal(maxMind.country({ address: '::ffff:81.2.69.160', header: undefined }), 'DE');
    assert.equal(maxMind.country({ address: '203.0.114.1', header: undefined }), 'FR', '128.0.0.0/1: registered_country only');
    assert.equal(maxMind.country({ address: '2a00:1450:4001:81b::200e', header: undefined }), UNKNOWN);
    assert.equal(maxMind.country({ address: '10.0.0.1', header: undefined }), UNKNOWN);
  });
});

test('a damaged record in the data section is one unknown country, not an exception', async () => {
  await withScratch(async (dir) => {
    const dbPath = join(dir, 'damaged.mmdb');
    // Control byte 0 says "extended type", and 7 + 255 is no type at all: mmdb-lib throws on reading it.
    await writeFile(dbPath, maxMindCountryDatabase(GERMANY, Buffer.from([0x00, 0xff])));
    const damaged = await openCountryResolver({ dbPath });
    assert.equal(damaged.country({ address: '81.2.69.160', header: undefined }), 'DE');
    assert.equal(damaged.country({ address: '203.0.114.1', header: undefined }), UNKNOWN);
  });
});

/** MMDB data section encoding (https://maxmind.github.io/MaxMind-DB/), the few types these files need. */
const mmdb = {
  string: (s: string): Buffer => Buffer.concat([Buffer.from([(2 << 5) | s.length]), Buffer.from(s, 'ascii')]),
  uint16: (n: number): Buffer => (n === 0 ? Buffer.from([5 << 5]) : Buffer.from([(5 << 5) | 1, n])),
  uint32: (n: number): Buffer => Buffer.from([(6 << 5) | 1, n]),
  map: (entries: [string, Buffer][]): Buffer =>
    Buffer.concat([Buffer.from([(7 << 5) | entries.length]), ...entries.flatMap(([key, value]) => [mmdb.string(key), value])]),
};

const GERMANY = mmdb.map([
  ['country', mmdb.map([['iso_code', mmdb.string('DE')], ['names', mmdb.map([['en', mmdb.string('Germany')]])]])],
  ['registered_country', mmdb.map([['iso_code', mmdb.string('DE')]])],
]);
/** MaxMind leaves `country` out for some networks and gives the registered country only. */
const REGISTERED_IN_FRANCE = mmdb.map([['registered_country', mmdb.map([['iso_code', mmdb.string('FR')]])]]);

/**
 * A MaxMind DB small enough to write by hand: an IPv4 tree of one node, whose left half (0.0.0.0/1)
 * holds the record `low` and right half (128.0.0.0/1) the record `high`.
 */
function maxMindCountryDatabase(low: Buffer, high: Buffer): Buffer {
  const nodeCount = 1;
  // A record value above nodeCount points into the data section: nodeCount + 16 + offset.
  const tree = Buffer.alloc(6);
  tree.writeUIntBE(nodeCount + 16, 0, 3);
  tree.writeUIntBE(nodeCount + 16 + low.length, 3, 3);
  const metadata = mmdb.map([
    ['node_count', mmdb.uint32(nodeCount)],
    ['record_size', mmdb.uint16(24)],
    ['ip_version', mmdb.uint16(4)],
    ['binary_format_major_version', mmdb.uint16(2)],
    ['binary_format_minor_version', mmdb.uint16(0)],
    ['database_type', mmdb.string('GeoLite2-Country')],
  ]);
  return Buffer.concat([tree, Buffer.alloc(16), low, high, METADATA_MARKER, metadata]);
}
