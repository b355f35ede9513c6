-- Click data partitioned by day, step 2 of 3 (see 011). VALIDATE scans each table under SHARE UPDATE
-- EXCLUSIVE: flushes (INSERT ... ON CONFLICT DO UPDATE), analytics reads and the retention's deletes
-- all go on while it reads; only DDL and VACUUM wait.
ALTER TABLE url_daily_clicks VALIDATE CONSTRAINT url_daily_clicks_legacy_range;
ALTER TABLE url_daily_values VALIDATE CONSTRAINT url_daily_values_legacy_range;
