// The stats page's arithmetic, without a browser: which UTC days a range asks the API for, the days
// filled out for the chart, and the breakdowns as a person reads them (src/web/days.ts, breakdowns.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Analytics } from '../../src/client/curt-client.ts';
import { breakdownsOf, countryName, formatShare } from '../../src/web/breakdowns.ts';
import { everyDay, rangeDays } from '../../src/web/days.ts';
import { MAX_RANGE_DAYS } from '../../src/client/analytics-range.ts';

const NOW = Date.parse('2026-03-31T23:59:00Z');

test('a range is the last 7, 30 or 90 UTC days, today included', () => {
  assert.deepEqual(rangeDays(7, null, NOW), { from: '2026-03-25', to: '2026-03-31' });
  assert.deepEqual(rangeDays(30, null, NOW), { from: '2026-03-02', to: '2026-03-31' });
  assert.deepEqual(rangeDays(90, '2020-01-01T00:00:00Z', NOW), { from: '2026-01-01', to: '2026-03-31' });
});

test('All starts on the UTC day the link was made, but never more than the API answers back', () => {
  assert.deepEqual(rangeDays('all', '2026-03-10T23:30:00-02:00', NOW), { from: '2026-03-11', to: '2026-03-31' });
  assert.deepEqual(rangeDays('all', '2026-03-31T12:00:00Z', NOW), { from: '2026-03-31', to: '2026-03-31' });
  const old = rangeDays('all', '2001-01-01T00:00:00Z', NOW);
  assert.deepEqual(old, { from: '2016-03-24', to: '2026-03-31' });
  assert.equal(everyDay([], old.from, old.to).length, MAX_RANGE_DAYS);
  // A browser clock behind the server's: a link "made tomorrow" still gets a valid range.
  assert.deepEqual(rangeDays('all', '2026-04-01T00:10:00Z', NOW), { from: '2026-03-31', to: '2026-03-31' });
});

test('every day of the range is there, with the days the API listed and 0 for the others', () => {
  assert.deepEqual(everyDay([{ date: '2026-02-28', clicks: 2, bot_hits: 1 }, { date: '2026-03-02', clicks: 0, bot_hits: 4 }], '2026-02-27', '2026-03-02'), [
    { date: '2026-02-27', clicks: 0, bot_hits: 0 },
    { date: '2026-02-28', clicks: 2, bot_hits: 1 },
    { date: '2026-03-01', clicks: 0, bot_hits: 0 },
    { date: '2026-03-02', clicks: 0, bot_hits: 4 },
  ]);
});

test('breakdowns: countries by English name beside the code, placeholders in words, shares of the range (bots: of the bot hits)', () => {
  const analytics = {
    range_clicks: 1000,
    range_bot_hits: 3,
    countries: [
      { name: 'DE', clicks: 996 },
      { name: '(unknown)', clicks: 3 },
      { name: '(other)', clicks: 1 },
    ],
    browsers: [{ name: 'Chrome', clicks: 1000 }],
    operating_systems: [{ name: 'iOS', clicks: 1000 }],
    devices: [
      { name: 'desktop', clicks: 999 },
      { name: 'other', clicks: 1 },
    ],
    referrers: [{ host: '(direct)', clicks: 1000 }],
    bots: [{ name: 'Slackbot', hits: 3 }],
  } as Analytics;
  const [countries, browsers, systems, devices, referrers, bots] = breakdownsOf(analytics);
  assert.deepEqual(
    countries?.rows.map((r) => [r.label, r.code, r.count, r.share]),
    [
      ['Germany', 'DE', 996, '>99%'],
      ['Unknown', null, 3, '<1%'],
      ['All others', null, 1, '<1%'],
    ],
  );
  assert.deepEqual([browsers?.rows[0]?.label, browsers?.rows[0]?.share, systems?.title], ['Chrome', '100%', 'Operating systems']);
  assert.deepEqual(devices?.rows.map((r) => r.label), ['Desktop', 'Other']);
  assert.equal(referrers?.rows[0]?.label, 'Direct (no referrer)');
  assert.deepEqual([bots?.unit, bots?.secondary, bots?.rows[0]?.share, bots?.rows[0]?.ratio], ['Hits', true, '100%', 1]);
  assert.equal(countryName('(unknown)'), null);
  assert.equal(countryName('XX'), null, 'a code without a name shows as the code alone');
  assert.equal(formatShare(0, 0), '–');
});
