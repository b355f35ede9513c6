-- Click analytics by dimension (docs/privacy.md says what is kept and why nothing identifies a person).
-- Bots, crawlers and link previews are counted apart from clicks: `clicks` stays the number of
-- redirects served to people, `bot_hits` the rest. Adding a NOT NULL column with a constant default
-- does not rewrite the table (PostgreSQL 11+), so this runs in moments on a big `urls`.
ALTER TABLE urls ADD COLUMN bot_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE url_daily_clicks ADD COLUMN bot_hits bigint NOT NULL DEFAULT 0;

-- Per link, UTC day, dimension and value: a count, never an address or a User-Agent string. Each
-- (link, day, dimension) holds a bounded number of values; the rest is counted under '(other)'
-- (src/storage/postgres/pg-link-store.ts, applyClicks).
-- No foreign key: a flush writes about five of these rows per link, and checking each against
-- `urls` was a third of the flush. The flush joins `urls` (hits of deleted links are dropped),
-- deleting a link deletes its rows in the same statement, and rows a flush racing that delete could
-- still write belong to no link: no query reads them, and the retention sweep deletes them.
CREATE TABLE url_daily_values (
  url_id     bigint NOT NULL,
  day        date NOT NULL,
  dimension  varchar(16) NOT NULL CHECK (dimension IN ('referrer', 'country', 'browser', 'os', 'device', 'bot')),
  value      varchar(255) NOT NULL,
  clicks     bigint NOT NULL,
  PRIMARY KEY (url_id, day, dimension, value)
);

-- The retention sweep deletes by day (ANALYTICS_RETENTION_DAYS).
CREATE INDEX url_daily_values_day_idx ON url_daily_values (day);
CREATE INDEX url_daily_clicks_day_idx ON url_daily_clicks (day);

-- Referrer hosts were kept per link for all time, without a day. They move into the daily table on
-- the UTC day of the link's last click (or its creation): the closest day known, and the one that
-- keeps them inside the default ranges that show a link's recent clicks.
INSERT INTO url_daily_values (url_id, day, dimension, value, clicks)
SELECT r.url_id, (COALESCE(u.last_clicked_at, u.created_at) AT TIME ZONE 'UTC')::date, 'referrer', r.host, r.clicks
  FROM url_referrers r JOIN urls u ON u.id = r.url_id
 WHERE r.clicks > 0;

DROP TABLE url_referrers;
