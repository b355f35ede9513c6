-- Click data partitioned by day, step 1 of 3 (docs/scaling.md, "Partitioned click data"). The two
-- per-day tables become range-partitioned by month, online: no step holds a lock that stops the click
-- flush for longer than moments, however big the tables. The migration runner gives each file one
-- transaction, hence three files:
--   011 (this one): a CHECK (day < bound), NOT VALID: a catalogue change, checked only on new rows.
--   012: VALIDATE it, a scan under SHARE UPDATE EXCLUSIVE, which lets the flush write meanwhile.
--   013: one short transaction: the old table renamed and attached as the partition of every day
--        before `bound` (the validated CHECK proves its rows fit, so ATTACH reads none), monthly
--        partitions from `bound` on.
--
-- The old table takes new rows until 013 has run, and the previous version keeps writing during a
-- rolling upgrade, so `bound` is a month start at least 7 days away, and past every day already
-- stored (a row past it would make 012 fail): the first of the month after both. The max() reads
-- the end of the day index.
DO $$
DECLARE
  latest date := greatest(
    (now() AT TIME ZONE 'UTC')::date + 7,
    (SELECT max(day) FROM url_daily_clicks),
    (SELECT max(day) FROM url_daily_values));
  bound date := (date_trunc('month', latest) + interval '1 month')::date;
BEGIN
  EXECUTE format('ALTER TABLE url_daily_clicks ADD CONSTRAINT url_daily_clicks_legacy_range CHECK (day < %L::date) NOT VALID', bound);
  EXECUTE format('ALTER TABLE url_daily_values ADD CONSTRAINT url_daily_values_legacy_range CHECK (day < %L::date) NOT VALID', bound);
END
$$;
