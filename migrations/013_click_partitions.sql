-- Click data partitioned by day, step 3 of 3 (see 011): one short transaction per upgrade, whatever
-- the tables hold. It takes ACCESS EXCLUSIVE on both tables (the rename) and on `urls` (dropping the
-- foreign key removes its triggers there), so it first waits for statements in flight on them, which
-- the pools' statement timeouts bound (a second at most on the request path, 5 s for a flush), and
-- then runs in moments: nothing below reads or rewrites the rows.
--
-- Monthly partitions: with the default retention of 400 days a table has about 14, few enough that
-- planning a flush or a read over the parent costs nothing noticeable (daily partitions would be
-- 400), and the retention drops a whole month at once, deleting row by row only inside the one month
-- that straddles its cutoff (src/storage/postgres/click-partitions.ts).
--
-- No DEFAULT partition: a default partition must be scanned, under lock, whenever a partition is
-- created next to it, and creating one refuses while the default holds rows of its range. Instead the
-- service creates this month and the next two ahead (at start and in every expiry sweep), and a flush
-- that meets a day without a partition creates it and writes again (pg-link-store.ts, applyClicks).
--
-- url_daily_clicks loses its foreign key to urls, as url_daily_values never had one (004): with the
-- key, creating or attaching each partition would take SHARE ROW EXCLUSIVE on `urls`, which waits
-- for and stops every flush and link write; and a table distributed by url_id cannot keep a key to
-- `urls` distributed by short_code (docs/scaling.md, "Sharding the links table"). The flush joins
-- `urls` already (hits of deleted links are dropped) and deleting a link deletes its rows of both
-- tables in the same statement; a flush racing a delete may leave rows of no link, which no query
-- reads and the retention removes.
ALTER TABLE url_daily_clicks RENAME TO url_daily_clicks_legacy;
ALTER INDEX url_daily_clicks_pkey RENAME TO url_daily_clicks_legacy_pkey;
ALTER INDEX url_daily_clicks_day_idx RENAME TO url_daily_clicks_legacy_day_idx;
ALTER TABLE url_daily_clicks_legacy DROP CONSTRAINT url_daily_clicks_url_id_fkey;
ALTER TABLE url_daily_values RENAME TO url_daily_values_legacy;
ALTER INDEX url_daily_values_pkey RENAME TO url_daily_values_legacy_pkey;
ALTER INDEX url_daily_values_day_idx RENAME TO url_daily_values_legacy_day_idx;

-- The same columns, keys and indexes as before; the primary keys hold `day`, as a partitioned table's
-- must. ATTACH below adopts the legacy tables' matching indexes instead of building new ones.
CREATE TABLE url_daily_clicks (
  url_id    bigint NOT NULL,
  day       date NOT NULL,
  clicks    bigint NOT NULL DEFAULT 0,
  bot_hits  bigint NOT NULL DEFAULT 0,
  CONSTRAINT url_daily_clicks_pkey PRIMARY KEY (url_id, day)
) PARTITION BY RANGE (day);

CREATE TABLE url_daily_values (
  url_id     bigint NOT NULL,
  day        date NOT NULL,
  dimension  varchar(16) NOT NULL CONSTRAINT url_daily_values_dimension_check CHECK (dimension IN ('referrer', 'country', 'browser', 'os', 'device', 'bot')),
  value      varchar(255) NOT NULL,
  clicks     bigint NOT NULL,
  CONSTRAINT url_daily_values_pkey PRIMARY KEY (url_id, day, dimension, value)
) PARTITION BY RANGE (day);

-- The retention deletes by day inside the month that straddles its cutoff.
CREATE INDEX url_daily_clicks_day_idx ON url_daily_clicks (day);
CREATE INDEX url_daily_values_day_idx ON url_daily_values (day);

-- A legacy table with rows becomes the partition of every day before its bound (MINVALUE: there is
-- no first day), and stays until the retention has passed its last day; an empty one (a new install)
-- is dropped. Monthly partitions follow, up to two months ahead of this one.
DO $$
DECLARE
  t text;
  bound date;
  has_rows boolean;
  month date;
  last_month date := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months')::date;
BEGIN
  FOREACH t IN ARRAY ARRAY['url_daily_clicks', 'url_daily_values'] LOOP
    SELECT substring(pg_get_constraintdef(oid) FROM '\d{4}-\d{2}-\d{2}')::date INTO STRICT bound
      FROM pg_constraint WHERE conrelid = (t || '_legacy')::regclass AND conname = t || '_legacy_range';
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t || '_legacy') INTO has_rows;
    IF has_rows THEN
      EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)', t, t || '_legacy', bound);
      -- The partition's own bound says the same from now on.
      EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t || '_legacy', t || '_legacy_range');
      month := bound;
    ELSE
      EXECUTE format('DROP TABLE %I', t || '_legacy');
      month := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    END IF;
    WHILE month <= last_month LOOP
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                     t || '_' || to_char(month, 'YYYY_MM'), t, month, (month + interval '1 month')::date);
      month := (month + interval '1 month')::date;
    END LOOP;
  END LOOP;
END
$$;

-- The previous version keeps running during a rolling upgrade (docs/deploy.md), and its retention
-- deletes in slices by ctid on the table by name: `DELETE FROM url_daily_values WHERE ctid IN
-- (SELECT ctid FROM url_daily_values WHERE day < $1 LIMIT $2)`. On a partitioned table a ctid names
-- a row only within its partition, so that statement would also delete the rows at the same places
-- of every other partition: this month's counts. This refuses it; the previous version's sweep logs
-- the failure and retries, and this version's sweep, which deletes partition by partition, does the
-- retention. Other deletes (a link's rows, by url_id) go through. To be dropped a release later.
CREATE FUNCTION click_tables_refuse_ctid_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_query() ~ 'WHERE ctid IN \(SELECT ctid FROM url_daily_(clicks|values) WHERE' THEN
    RAISE EXCEPTION 'deleting % by ctid is not safe on a partitioned table (migration 013): this version''s expiry sweep keeps the retention', TG_TABLE_NAME;
  END IF;
  RETURN NULL;
END
$$;

-- Statement triggers on the parents: they fire for statements naming the parent, never for those
-- naming a partition (the retention's).
CREATE TRIGGER url_daily_clicks_refuse_ctid_delete BEFORE DELETE ON url_daily_clicks
  FOR EACH STATEMENT EXECUTE FUNCTION click_tables_refuse_ctid_delete();
CREATE TRIGGER url_daily_values_refuse_ctid_delete BEFORE DELETE ON url_daily_values
  FOR EACH STATEMENT EXECUTE FUNCTION click_tables_refuse_ctid_delete();
